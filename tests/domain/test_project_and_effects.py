from datetime import date, timedelta

from domain import commands as c
from domain.effects import NotifyStaff, effects_of
from domain.project import episode_view, summarize, worklist_items
from tests.support.scenario import Scenario, service


def kinds(s: Scenario) -> list[str]:
    return [i.kind for i in worklist_items(s.state, s.now)]


def test_view_of_a_new_episode_matches_the_contract():
    s = Scenario()
    view = episode_view(s.state, s.now)
    assert view.state == "auth_requested" and view.version == 2
    assert view.authorization is None
    assert view.units.approved == 0
    assert [d.kind for d in view.deadlines] == ["payer_decision_due"]
    assert view.trace_number == s.trace


def test_view_shows_units_used_and_an_active_authorization():
    s = Scenario()
    s.approve(units=10)
    s.now = s.now.replace(day=24)
    s.run(c.RecordServices(services=(service(date(2026, 11, 24), code="S9480"),)))
    assert episode_view(s.state, s.now).units.used == 0  # only released lines use units
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    view = episode_view(s.state, s.now)
    assert view.authorization is not None and view.authorization.status == "active"
    assert (view.units.approved, view.units.used, view.units.remaining) == (10, 1, 9)


def test_authorization_past_its_end_shows_expired_before_the_timer_fires():
    s = Scenario()
    s.approve(end=date(2026, 11, 30))
    view = episode_view(s.state, s.now + timedelta(days=10))
    assert view.authorization is not None and view.authorization.status == "expired"


def test_summary_carries_the_next_deadline_and_no_phi():
    s = Scenario()
    summary = summarize(s.state, s.now)
    assert summary.next_deadline == s.state.deadlines["payer_decision_due"]
    assert "Roe" not in summary.model_dump_json()


def test_worklist_shows_an_overdue_decision():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    assert kinds(s) == []
    s.fire("payer_decision_due")
    assert kinds(s) == ["payer_decision_overdue"]


def test_worklist_shows_information_requested_and_p2p_windows():
    s = Scenario()
    s.decision("A4")
    assert kinds(s) == ["info_requested"]
    s.run(c.ProvideInformation(note="sent"))
    s.decision("A3", reason="not medically necessary")
    assert kinds(s) == ["p2p_window_closing"]
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=3)))
    assert kinds(s) == ["p2p_scheduled"]
    s.run(c.RecordP2POutcome(outcome="upheld"))
    assert kinds(s) == ["appeal_due"]
    s.run(c.FileAppeal())
    assert kinds(s) == ["appeal_due"]


def test_worklist_shows_expiring_authorization_review_and_held_claims():
    s = Scenario()
    s.approve(end=date(2026, 11, 27))
    assert "concurrent_review_due" in kinds(s) or "authorization_expiring" in kinds(s)
    s2 = Scenario()
    s2.approve(end=date(2026, 12, 28))
    assert kinds(s2) == []
    s2.now = s2.now.replace(day=25)
    assert kinds(s2) == []
    s3 = Scenario()
    s3.now = s3.now.replace(day=24)
    s3.run(c.RecordServices(services=(service(date(2026, 11, 24)),)))
    s3.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert kinds(s3) == ["claims_held"]


def test_worklist_flags_an_authorization_that_ended_while_the_patient_attends():
    s = Scenario()
    s.approve(units=1)
    s.now = s.now.replace(day=24)
    s.run(c.RecordServices(services=(service(date(2026, 11, 24), code="S9480"),)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    assert s.state.status == "expired"
    assert kinds(s) == ["concurrent_review_due"]
    s.decision("C", reason="resubmit on the new form")
    assert s.state.status == "expired"
    assert kinds(s) == ["authorization_expiring"]


def test_requests_p2p_and_released_claims_become_effects():
    s = Scenario()
    opened, requested = s.events
    assert effects_of(opened, 1) == []
    (submit,) = effects_of(requested, 2)
    assert submit.kind == "submit_request" and submit.key == s.trace
    s.decision("A3", reason="no")
    assert [e.kind for e in effects_of(s.events[-1], 3)] == ["notify"]
    s.run(c.RequestP2P())
    assert effects_of(s.events[-1], 4)[0].kind == "request_p2p"


def test_every_notable_event_notifies_staff():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    s.fire("payer_decision_due")
    s.decision("A4", reason="need notes")
    s.decision("CT", reason="call")
    s.run(c.ProvideInformation(note="x"))
    s.approve(units=1)
    s.run(c.RecordServices(services=(service(date(2026, 11, 24), code="S9480"),)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.run(c.RecordServices(services=(service(date(2026, 11, 25), code="S9480"),)))
    s.run(c.ReleaseClaim(claim_id="C-2", through=date(2026, 11, 30)))
    notified = {
        e.notice for ev in s.events for e in effects_of(ev, 1) if isinstance(e, NotifyStaff)
    }
    assert {
        "payer_decision_overdue",
        "info_requested",
        "payer_notice",
        "authorization_ended",
        "claims_held",
    } <= notified

from datetime import date, timedelta

import pytest

from domain import commands as c
from domain.decider import decide
from domain.errors import Rejected
from domain.model import PayerDecision
from domain.state import Episode
from tests.support.scenario import T0, Scenario


def test_certified_in_total_authorizes_iop_with_the_requested_units():
    s = Scenario()
    events = s.decision("A1", authorization_number="AUTH-1", end=date(2026, 12, 31))
    assert s.types(events) == ["authorization_granted"]
    auth = s.state.authorizations[0]
    assert (auth.units, auth.unit_type, auth.start) == (20, "days", date(2026, 11, 23))
    assert s.state.status == "authorized"
    assert "payer_decision_due" not in s.state.deadlines
    assert s.state.deadlines["authorization_ends"].date() == date(2027, 1, 1)


def test_concurrent_review_is_due_three_business_days_before_the_end():
    s = Scenario()
    s.approve(end=date(2026, 12, 31))
    assert s.state.deadlines["concurrent_review_due"].date() == date(2026, 12, 28)


def test_partial_certification_keeps_the_fewer_units_approved():
    s = Scenario()
    s.decision("A2", authorization_number="AUTH-2", end=date(2026, 12, 10), units=8)
    assert s.state.authorizations[0].units == 8


def test_partial_certification_without_units_is_rejected():
    s = Scenario()
    with pytest.raises(Rejected, match="units are required for A2"):
        s.decision("A2", authorization_number="AUTH-2", end=date(2026, 12, 10))


def test_approval_without_number_or_end_lists_both_problems():
    s = Scenario()
    with pytest.raises(Rejected) as err:
        s.decision("A1")
    assert len(err.value.problems) == 2


def test_approval_ending_before_it_starts_is_rejected():
    s = Scenario()
    with pytest.raises(Rejected, match="is after its end"):
        s.approve(start=date(2026, 12, 5), end=date(2026, 12, 1))


def test_modified_decision_authorizes_what_the_payer_allowed():
    s = Scenario()
    s.decision(
        "A6",
        authorization_number="AUTH-6",
        end=date(2026, 12, 15),
        units=12,
        unit_type="sessions",
        service_codes=["H0015"],
    )
    auth = s.state.authorizations[0]
    assert (auth.units, auth.unit_type, auth.service_codes) == (12, "sessions", ("H0015",))


def test_not_certified_opens_the_p2p_and_appeal_windows():
    s = Scenario()
    s.advance(days=2)
    s.decision("A3", reason_code="CO-197", reason="no medical necessity")
    assert s.state.status == "denied"
    assert s.state.deadlines["p2p_window_closes"] == s.now + timedelta(days=14)
    assert s.state.deadlines["appeal_filing_due"] == s.now + timedelta(days=60)
    assert s.state.denial is not None and s.state.denial.reason_code == "CO-197"


def test_pended_request_asks_for_information_with_an_answer_deadline():
    s = Scenario()
    s.decision("A4", reference="REF-7", reason="send updated ASAM assessment")
    assert s.state.status == "info_requested"
    assert s.state.deadlines == {"info_response_due": T0 + timedelta(days=14)}


def test_providing_information_restarts_the_decision_clock():
    s = Scenario()
    s.decision("A4")
    s.advance(days=3)
    s.run(c.ProvideInformation(note="assessment attached"))
    assert s.state.status == "auth_requested"
    assert s.state.deadlines == {"payer_decision_due": s.now + timedelta(days=7)}


def test_information_cannot_be_provided_when_none_was_asked():
    s = Scenario()
    with pytest.raises(Rejected, match="has not asked for information"):
        s.run(c.ProvideInformation(note="x"))


def test_payer_cancelling_the_request_cancels_the_episode():
    s = Scenario()
    s.decision("C", reason="member not eligible")
    assert s.state.status == "cancelled" and s.state.deadlines == {}


@pytest.mark.parametrize("action", ["CT", "NA"])
def test_contact_payer_and_no_action_are_recorded_and_keep_waiting(action):
    s = Scenario()
    s.decision(action, reason="call us")
    assert s.state.status == "auth_requested"
    assert s.state.notices == (f"{action}: call us",)
    assert "payer_decision_due" in s.state.deadlines


def test_the_same_delivery_twice_applies_once():
    s = Scenario()
    first = s.approve(delivery_id="d-1")
    again = s.approve(delivery_id="d-1")
    assert len(first) == 1 and again == []


def test_decision_for_another_episodes_trace_number_is_rejected():
    s = Scenario()
    cmd = c.ApplyPayerDecision(
        delivery_id="d", decision=PayerDecision(trace_number="SD-OTHER-1", action="A3")
    )
    with pytest.raises(Rejected) as err:
        decide(s.state, cmd, T0)
    assert err.value.code == "unknown_trace"


def test_decision_when_nothing_is_pending_is_out_of_order():
    s = Scenario()
    s.approve()
    with pytest.raises(Rejected) as err:
        s.decision("A3")
    assert err.value.code == "invalid_state"


def test_decision_on_an_unopened_episode_is_not_found():
    cmd = c.ApplyPayerDecision(
        delivery_id="d", decision=PayerDecision(trace_number="x", action="A1")
    )
    with pytest.raises(Rejected) as err:
        decide(Episode(), cmd, T0)
    assert err.value.code == "not_found"


def test_decision_for_an_earlier_request_is_stale():
    s = Scenario()
    s.approve(end=date(2026, 11, 30))
    first_trace = s.trace
    s.fire("concurrent_review_due")
    assert s.state.pending is not None and s.state.pending.purpose == "extension"
    cmd = c.ApplyPayerDecision(
        delivery_id="late", decision=PayerDecision(trace_number=first_trace, action="A3")
    )
    with pytest.raises(Rejected) as err:
        decide(s.state, cmd, s.now)
    assert err.value.code == "stale_trace"


def test_extension_moves_the_end_date_and_adds_units():
    s = Scenario()
    s.approve(end=date(2026, 12, 10), units=10)
    s.fire("concurrent_review_due")
    assert s.types()[-1] == "authorization_requested"
    s.decision("A1", authorization_number="AUTH-1", end=date(2027, 1, 10), units=10)
    auth = s.state.authorizations[0]
    assert (auth.end, auth.units) == (date(2027, 1, 10), 20)
    assert s.state.deadlines["authorization_ends"].date() == date(2027, 1, 11)


def test_extension_under_a_new_number_adds_a_second_authorization():
    s = Scenario()
    s.approve(end=date(2026, 12, 10), units=10)
    s.fire("concurrent_review_due")
    s.decision(
        "A1",
        authorization_number="AUTH-2",
        start=date(2026, 12, 11),
        end=date(2027, 1, 10),
        units=10,
    )
    assert [a.number for a in s.state.authorizations] == ["AUTH-1", "AUTH-2"]


def test_commercial_urgent_extension_asked_a_day_ahead_is_decided_in_24_hours():
    s = Scenario(payer={"id": "acme", "plan_type": "commercial"}, urgency="expedited")
    s.approve(end=date(2026, 12, 10))
    s.fire("concurrent_review_due")
    assert s.state.deadlines["payer_decision_due"] == s.now + timedelta(hours=24)


def test_commercial_standard_extension_is_not_urgent_and_keeps_the_standard_window():
    s = Scenario(payer={"id": "acme", "plan_type": "commercial"})
    s.approve(end=date(2026, 12, 10))
    s.fire("concurrent_review_due")
    assert s.state.deadlines["payer_decision_due"] == s.now + timedelta(days=15)


def test_authorization_already_inside_its_review_window_requests_extension_at_once():
    s = Scenario()
    events = s.approve(end=date(2026, 11, 25))
    assert s.types(events) == ["authorization_granted", "authorization_requested"]
    assert s.state.pending is not None and s.state.pending.purpose == "extension"


def test_denied_extension_keeps_the_current_authorization_until_its_end():
    s = Scenario()
    s.approve(end=date(2026, 12, 10))
    s.fire("concurrent_review_due")
    s.decision("A3", reason="not medically necessary")
    assert s.state.status == "denied"
    assert [a.number for a in s.state.authorizations] == ["AUTH-1"]

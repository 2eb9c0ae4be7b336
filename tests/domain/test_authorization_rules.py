"""Issue 12 authorization rules: CMS-0057-F windows by request date, extension notices,
urgency of concurrent requests, denials without reason, P2P and appeal rights, authorizations
running to their end, approvals after discharge, extensions that never backdate (§3–§5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain import commands as c
from domain.decide_coverage import extension_request
from domain.errors import Rejected
from domain.evolve import fold
from domain.policy import default_policy
from domain.project import worklist_items
from domain.timing import decision_due
from tests.support.scenario import Scenario, service

DEC_31_2025 = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
JAN_1_2026 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)

# ---- CMS-0057-F windows depend on the date of the request ---------------------------------


@pytest.mark.parametrize(
    "plan", ["medicare_advantage", "medicaid_ffs", "medicaid_managed_care", "chip"]
)
def test_standard_requests_before_2026_get_14_days_and_from_2026_get_7(plan):
    policy = default_policy(plan)
    assert decision_due(policy, "standard", DEC_31_2025) == DEC_31_2025 + timedelta(days=14)
    assert decision_due(policy, "standard", JAN_1_2026) == JAN_1_2026 + timedelta(days=7)


def test_expedited_requests_get_72_hours_either_side_of_the_change():
    policy = default_policy("medicare_advantage")
    for at in (DEC_31_2025, JAN_1_2026):
        assert decision_due(policy, "expedited", at) == at + timedelta(hours=72)


def test_commercial_plans_keep_the_erisa_15_days_whatever_the_date():
    policy = default_policy("commercial")
    assert decision_due(policy, "standard", DEC_31_2025) == DEC_31_2025 + timedelta(days=15)


def test_the_window_table_is_the_policys_so_a_payer_can_carry_its_own():
    policy = default_policy("chip").model_copy(update={"decision_windows": ()})
    assert decision_due(policy, "standard", DEC_31_2025) == DEC_31_2025 + timedelta(days=7)


def test_information_provided_keeps_the_window_of_the_original_request_date():
    policy = default_policy("medicaid_ffs")
    later = JAN_1_2026 + timedelta(days=3)
    due = decision_due(policy, "standard", later, requested_on=DEC_31_2025.date())
    assert due == later + timedelta(days=14)


# ---- extension notices move the deadline ----------------------------------------------------


def test_medicare_advantage_extension_notice_moves_the_decision_deadline_by_14_days():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    due = s.state.pending.decision_due
    events = s.run(c.ExtendDecision(reason="need records"))
    assert s.types(events) == ["decision_extended"]
    assert s.state.deadlines["payer_decision_due"] == due + timedelta(days=14)
    assert s.state.status == "auth_requested" and s.state.denial is None


def test_the_payers_own_pended_answer_with_extension_days_moves_the_deadline():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    due = s.state.pending.decision_due
    events = s.decision("A4", delivery_id="d-ext", extension_days=14, reason="records needed")
    assert s.types(events) == ["decision_extended"]
    [extended] = events
    assert (extended.delivery_id, extended.trace_number) == ("d-ext", s.trace)
    assert s.state.deadlines["payer_decision_due"] == due + timedelta(days=14)
    # Not a denial and not a request for information: the episode keeps waiting.
    assert s.state.status == "auth_requested" and s.state.denial is None
    assert not s.state.pending.awaiting_information
    # The same delivery again changes nothing; a second notice is refused as by ops.
    assert s.decision("A4", delivery_id="d-ext", extension_days=14) == []
    with pytest.raises(Rejected, match="already extended"):
        s.decision("A4", delivery_id="d-ext-2", extension_days=1)
    with pytest.raises(Rejected, match="already extended"):
        s.run(c.ExtendDecision(days=1))


def test_an_extension_notice_in_an_approval_or_a_denial_is_refused_and_changes_nothing():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    before = s.state
    for action in ("A1", "A3"):
        with pytest.raises(Rejected) as err:
            s.decision(action, extension_days=14)
        assert err.value.code == "invalid_input" and "pended answer (A4)" in str(err.value)
    assert s.state == before


def test_a_payer_extension_notice_beyond_its_policy_late_or_for_a_stale_trace_is_refused():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    with pytest.raises(Rejected, match="at most 14 days"):
        s.decision("A4", extension_days=15)
    medicaid = Scenario(payer={"id": "mcd", "plan_type": "medicaid_ffs"})
    with pytest.raises(Rejected, match="allows no decision extension"):
        medicaid.decision("A4", extension_days=7)
    s.fire("payer_decision_due")
    with pytest.raises(Rejected) as err:
        s.decision("A4", extension_days=14)
    assert err.value.code == "window_closed"
    other = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    with pytest.raises(Rejected) as err:
        other.run(
            c.ApplyPayerDecision(
                delivery_id="d-x",
                decision={"trace_number": "T-NOT-OURS", "action": "A4", "extension_days": 14},
            )
        )
    assert err.value.code == "unknown_trace"


def test_an_extension_longer_than_the_policy_allows_or_a_second_one_is_refused():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    with pytest.raises(Rejected, match="at most 14 days"):
        s.run(c.ExtendDecision(days=15))
    s.run(c.ExtendDecision(days=10))
    with pytest.raises(Rejected, match="already extended"):
        s.run(c.ExtendDecision(days=1))


def test_a_payer_whose_policy_allows_no_extension_cannot_extend():
    s = Scenario(payer={"id": "mcd", "plan_type": "medicaid_ffs"})
    with pytest.raises(Rejected, match="allows no decision extension"):
        s.run(c.ExtendDecision())


def test_an_extension_notice_after_the_deadline_passed_is_refused():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    s.fire("payer_decision_due")
    with pytest.raises(Rejected) as err:
        s.run(c.ExtendDecision())
    assert err.value.code == "window_closed"


def test_erisa_pre_service_extension_is_15_days():
    s = Scenario(payer={"id": "acme", "plan_type": "commercial"})
    due = s.state.pending.decision_due
    s.run(c.ExtendDecision())
    assert s.state.deadlines["payer_decision_due"] == due + timedelta(days=15)


def test_medicaid_managed_care_appeal_decision_may_be_extended_14_days():
    s = Scenario()
    s.decision("A3", reason="not necessary")
    s.run(c.FileAppeal())
    due = s.state.deadlines["appeal_decision_due"]
    s.run(c.ExtendDecision(scope="appeal"))
    assert s.state.deadlines["appeal_decision_due"] == due + timedelta(days=14)
    with pytest.raises(Rejected, match="already extended"):
        s.run(c.ExtendDecision(scope="appeal"))


def test_an_appeal_extension_without_an_appeal_is_refused():
    s = Scenario()
    with pytest.raises(Rejected, match="no appeal decision"):
        s.run(c.ExtendDecision(scope="appeal"))


# ---- denials, P2P and appeal rights ---------------------------------------------------------


def test_a_denial_without_reason_is_accepted_and_flagged_to_ops():
    s = Scenario()
    s.decision("A3")
    assert s.state.status == "denied"
    items = {i.kind: i.detail for i in worklist_items(s.state, s.now)}
    assert items["denial_without_reason"] == "denial without reason — request it in writing"


def test_a_denial_with_a_reason_code_only_is_not_flagged():
    s = Scenario()
    s.decision("A3", reason_code="MN")
    assert "denial_without_reason" not in {i.kind for i in worklist_items(s.state, s.now)}


def test_an_appeal_can_be_filed_while_a_p2p_is_scheduled():
    s = Scenario()
    s.decision("A3", reason="no")
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    events = s.run(c.FileAppeal())
    assert s.types(events) == ["appeal_filed"] and s.state.status == "appeal"
    assert "p2p_outcome_due" not in s.state.deadlines


def test_a_lapsed_p2p_request_leaves_the_denial_appealable():
    s = Scenario()
    s.decision("A3", reason="no")
    s.run(c.RequestP2P())
    s.fire("p2p_window_closes")
    assert s.state.status == "denied" and "appeal_filing_due" in s.state.deadlines
    s.run(c.FileAppeal())
    assert s.state.status == "appeal"


def test_missed_p2p_calls_leave_the_appeal_window_open():
    s = Scenario()
    s.decision("A3", reason="no")
    filing_due = s.state.deadlines["appeal_filing_due"]
    s.run(c.RequestP2P())
    for _ in range(2):
        s.run(c.ScheduleP2P(at=s.now + timedelta(hours=1)))
        s.fire("p2p_outcome_due")
    assert s.state.p2p_outcome == "upheld"
    assert s.state.deadlines["appeal_filing_due"] == filing_due
    s.run(c.FileAppeal())
    assert s.state.status == "appeal"


# ---- an authorization runs to its end date --------------------------------------------------


def _extension_denied() -> Scenario:
    s = Scenario()
    s.approve(end=date(2026, 12, 10))
    s.fire("concurrent_review_due")
    s.decision("A3", reason="not medically necessary")
    return s


def test_an_upheld_appeal_about_an_extension_keeps_the_authorization_to_its_end():
    s = _extension_denied()
    s.run(c.FileAppeal())
    events = s.run(c.RecordAppealOutcome(outcome="upheld"))
    assert s.types(events) == ["appeal_decided"]
    assert s.state.status == "authorized" and "authorization_ends" in s.state.deadlines


def test_services_inside_the_authorization_still_bill_after_the_extension_is_denied():
    s = _extension_denied()
    s.now = datetime(2026, 12, 9, 12, tzinfo=UTC)
    s.run(c.RecordServices(services=(service(date(2026, 12, 9)),)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 12, 31)))
    assert s.state.claims["C-1"].status == "released"


# ---- an approval after discharge still counts ------------------------------------------------


def test_an_approval_after_discharge_releases_the_held_claims_and_closes():
    s = Scenario()
    s.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    s.run(c.RecordServices(services=(service(date(2026, 11, 24)),)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.run(c.Discharge(date=date(2026, 11, 25), patient_status="01", disposition="completed"))
    assert s.state.status == "discharged" and "payer_decision_due" in s.state.deadlines
    events = s.approve()
    assert s.types(events) == ["authorization_granted", "claim_released", "episode_closed"]
    claim = s.state.claims["C-1"].claim
    assert claim is not None and claim.type_of_bill == "0761"


def _discharged_with_a_held_claim(s: Scenario) -> None:
    s.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    s.run(c.RecordServices(services=(service(date(2026, 11, 24), roster_signed=False),)))
    s.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 30)))
    s.run(c.Discharge(date=date(2026, 11, 25), patient_status="01", disposition="completed"))


def test_discharge_keeps_the_deadlines_the_payer_still_owes():
    s = Scenario()
    s.decision("A3", reason="no")
    _discharged_with_a_held_claim(s)
    assert {"p2p_window_closes", "appeal_filing_due"} <= set(s.state.deadlines)


def test_an_approval_after_discharge_adds_no_review_or_end_timers():
    s = Scenario()
    _discharged_with_a_held_claim(s)
    events = s.approve(end=date(2026, 11, 27))
    assert s.types(events) == ["authorization_granted"]  # the roster still holds the claim
    assert s.state.deadlines == {} and s.state.status == "discharged"


def test_a_discharged_episode_with_nothing_to_bill_closes_at_once():
    s = Scenario()
    events = s.run(c.Discharge(date=s.now.date(), patient_status="01", disposition="completed"))
    assert s.types(events) == ["discharged", "episode_closed"]


# ---- an extension never backdates --------------------------------------------------------------


def test_an_extension_under_a_new_number_without_a_start_starts_the_day_after():
    s = Scenario()
    s.approve(end=date(2026, 12, 10))
    s.fire("concurrent_review_due")
    s.decision("A1", authorization_number="AUTH-2", end=date(2027, 1, 10), units=10)
    new = next(a for a in s.state.authorizations if a.number == "AUTH-2")
    assert new.start == date(2026, 12, 11)


def test_an_extension_asked_after_the_gap_never_covers_days_before_the_request():
    s = Scenario()
    s.approve(end=date(2026, 11, 24))
    s.fire("authorization_ends")
    s.now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    requested = extension_request(s.state, s.now, "asked late")
    s.events.append(requested)
    s.state = fold([requested], s.state)
    s.decision("A1", authorization_number="AUTH-2", end=date(2027, 1, 10), units=10)
    new = next(a for a in s.state.authorizations if a.number == "AUTH-2")
    assert new.start == date(2026, 12, 3)

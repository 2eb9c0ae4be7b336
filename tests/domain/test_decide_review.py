from datetime import timedelta

import pytest

from domain import commands as c
from domain.errors import Rejected
from tests.support.scenario import Scenario


def denied() -> Scenario:
    s = Scenario()
    s.advance(days=1)
    s.decision("A3", reason="not medically necessary")
    return s


def test_p2p_can_be_requested_inside_the_window():
    s = denied()
    events = s.run(c.RequestP2P())
    assert s.types(events) == ["p2p_requested"] and s.state.status == "p2p_requested"


def test_p2p_is_refused_after_the_window_closes():
    s = denied()
    s.fire("p2p_window_closes")
    with pytest.raises(Rejected) as err:
        s.run(c.RequestP2P())
    assert err.value.code == "window_closed"


def test_p2p_is_refused_once_an_appeal_is_filed():
    s = denied()
    s.run(c.FileAppeal(level="standard"))
    with pytest.raises(Rejected, match="while the episode is appeal"):
        s.run(c.RequestP2P())


def test_scheduling_a_p2p_call_sets_its_outcome_deadline():
    s = denied()
    s.run(c.RequestP2P())
    call = s.now + timedelta(days=2)
    s.run(c.ScheduleP2P(at=call, reviewer="Dr. Payer"))
    assert s.state.status == "p2p_scheduled"
    assert s.state.deadlines["p2p_outcome_due"] == call + timedelta(hours=24)
    assert "p2p_window_closes" not in s.state.deadlines


def test_p2p_call_in_the_past_is_rejected():
    s = denied()
    s.run(c.RequestP2P())
    with pytest.raises(Rejected, match="in the future"):
        s.run(c.ScheduleP2P(at=s.now - timedelta(minutes=5)))


def test_overturned_p2p_waits_for_the_authorization_within_72_hours():
    s = denied()
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    s.advance(hours=5)
    s.run(c.RecordP2POutcome(outcome="overturned", reviewer="Dr. X"))
    assert s.state.status == "auth_requested"
    assert s.state.deadlines == {"payer_decision_due": s.now + timedelta(hours=72)}
    s.decision("A1", authorization_number="AUTH-R", end=s.now.date() + timedelta(days=30))
    assert s.state.status == "authorized"
    assert s.state.authorizations[0].units == 20


def test_upheld_p2p_leaves_the_appeal_window_open():
    s = denied()
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    s.run(c.RecordP2POutcome(outcome="upheld"))
    assert s.state.status == "denied"
    assert set(s.state.deadlines) == {"appeal_filing_due"}


def test_two_missed_p2p_calls_count_as_upheld():
    s = denied()
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    missed = s.fire("p2p_outcome_due")
    assert s.types(missed) == ["p2p_call_missed"] and s.state.status == "p2p_requested"
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=4)))
    held = s.fire("p2p_outcome_due")
    assert s.types(held) == ["p2p_decided"]
    assert held[0].deemed and s.state.p2p_outcome == "upheld"  # type: ignore[union-attr]


def test_p2p_outcome_needs_a_scheduled_call():
    s = denied()
    with pytest.raises(Rejected, match="allowed in: p2p_scheduled"):
        s.run(c.RecordP2POutcome(outcome="upheld"))


def test_second_p2p_after_an_outcome_is_refused():
    s = denied()
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=1)))
    s.run(c.RecordP2POutcome(outcome="upheld"))
    with pytest.raises(Rejected, match="already upheld"):
        s.run(c.RequestP2P())


def test_expedited_appeal_is_decided_within_72_hours():
    s = denied()
    s.run(c.FileAppeal(level="expedited"))
    assert s.state.deadlines == {"appeal_decision_due": s.now + timedelta(hours=72)}


def test_standard_appeal_is_decided_within_30_days_and_escalates_when_late():
    s = denied()
    s.run(c.FileAppeal(level="standard"))
    assert s.state.deadlines["appeal_decision_due"] == s.now + timedelta(days=30)
    late = s.fire("appeal_decision_due")
    assert s.types(late) == ["appeal_decision_overdue"] and s.state.status == "appeal"


def test_appeal_after_the_filing_window_is_refused():
    s = denied()
    s.advance(days=61)
    with pytest.raises(Rejected) as err:
        s.run(c.FileAppeal())
    assert err.value.code == "window_closed"


def test_appeal_overturned_waits_for_the_authorization():
    s = denied()
    s.run(c.FileAppeal())
    s.run(c.RecordAppealOutcome(outcome="overturned"))
    assert s.state.status == "auth_requested"
    assert "payer_decision_due" in s.state.deadlines


def test_appeal_upheld_closes_the_episode():
    s = denied()
    s.run(c.FileAppeal())
    events = s.run(c.RecordAppealOutcome(outcome="upheld"))
    assert s.types(events) == ["appeal_decided", "episode_closed"]
    assert s.state.status == "closed"


def test_appeal_outcome_without_appeal_is_refused():
    s = denied()
    with pytest.raises(Rejected, match="record an appeal outcome"):
        s.run(c.RecordAppealOutcome(outcome="upheld"))


def test_denial_with_no_appeal_becomes_final_and_closes():
    s = denied()
    s.fire("p2p_window_closes")
    s.fire("appeal_filing_due")
    assert s.state.status == "closed"
    assert s.state.closed_reason == "denial final: no appeal filed"

from datetime import date, timedelta

import pytest

from domain import commands as c
from domain.decider import deadlines
from domain.errors import Rejected
from tests.support.scenario import T0, Scenario


def test_missed_deadline_in_medicare_advantage_escalates_and_keeps_waiting():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    first = s.fire("payer_decision_due")
    assert s.types(first) == ["decision_overdue"]
    assert s.state.status == "auth_requested"
    assert s.state.deadlines["payer_decision_due"] == s.now + timedelta(hours=48)
    second = s.fire("payer_decision_due")
    assert second[0].escalation == 2  # type: ignore[union-attr]
    assert "payer_decision_due" not in s.state.deadlines
    s.approve()
    assert s.state.status == "authorized"


def test_missed_deadline_in_medicaid_managed_care_is_a_denial():
    s = Scenario()
    events = s.fire("payer_decision_due")
    assert s.types(events) == ["authorization_denied"]
    assert events[0].deemed  # type: ignore[union-attr]
    assert s.state.status == "denied" and s.now == T0 + timedelta(days=7)


def test_missed_reversal_deadline_escalates_even_in_medicaid_managed_care():
    s = Scenario()
    s.decision("A3")
    s.run(c.RequestP2P())
    s.run(c.ScheduleP2P(at=s.now + timedelta(hours=1)))
    s.run(c.RecordP2POutcome(outcome="overturned"))
    events = s.fire("payer_decision_due")
    assert s.types(events) == ["decision_overdue"]


def test_info_deadline_passing_is_an_escalation():
    s = Scenario()
    s.decision("A4")
    events = s.fire("info_response_due")
    assert s.types(events) == ["information_overdue"]
    assert s.state.status == "info_requested"
    s.run(c.ProvideInformation(note="late but complete"))
    assert s.state.status == "auth_requested"


def test_authorization_expiry_ends_the_authorization():
    s = Scenario()
    s.approve(end=date(2026, 11, 30))
    s.state.deadlines.pop("concurrent_review_due", None)
    events = s.fire("authorization_ends")
    assert s.types(events)[-1] == "authorization_ended"
    assert s.state.status == "expired"


def test_stale_deadline_is_rejected():
    s = Scenario()
    with pytest.raises(Rejected) as err:
        s.run(c.DeadlineReached(kind="payer_decision_due", due=T0))
    assert err.value.code == "stale_deadline"


def test_deadline_cannot_fire_early():
    s = Scenario()
    due = s.state.deadlines["payer_decision_due"]
    with pytest.raises(Rejected) as err:
        s.run(c.DeadlineReached(kind="payer_decision_due", due=due))
    assert err.value.code == "too_early"


def test_deadlines_are_listed_soonest_first():
    s = Scenario()
    s.approve()
    kinds = [d.kind for d in deadlines(s.state)]
    assert kinds == ["concurrent_review_due", "authorization_ends"]


def test_cancel_ends_every_deadline():
    s = Scenario()
    s.run(c.Cancel(reason="patient moved"))
    assert s.state.status == "cancelled" and deadlines(s.state) == []
    with pytest.raises(Rejected, match="is cancelled"):
        s.run(c.Cancel(reason="again"))

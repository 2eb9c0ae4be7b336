"""§8: a request a Da Vinci PAS payer pended is followed up with `Claim/$inquire` on the
episode's clock, every `inquiry_interval_minutes`, until a final answer or the deadline."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from domain import commands as c
from domain.effects import InquirePayer, NotifyStaff, effects_of
from domain.errors import Rejected
from domain.events import Event
from domain.model import PayerDecision
from domain.project import worklist_items
from tests.support.scenario import T0, Scenario


def pas_decision(s: Scenario, action: str, **fields: Any) -> list[Event]:
    body = {"trace_number": s.trace, "action": action, **fields}
    cmd = c.ApplyPayerDecision(
        delivery_id=f"pas:{uuid.uuid4().hex}",
        decision=PayerDecision.model_validate(body),
        channel="pas",
    )
    return s.run(cmd)


def test_a_pas_pend_schedules_the_first_inquiry_an_interval_later():
    s = Scenario()
    [pended] = pas_decision(s, "A4", reason="awaiting the discharge summary")
    assert s.state.status == "info_requested"
    assert s.state.deadlines["payer_inquiry_due"] == T0 + timedelta(minutes=60)
    # Until the request's own decision deadline (§3: 7 days for a standard request).
    assert s.state.pending is not None
    assert s.state.pending.inquire_until == T0 + timedelta(days=7)
    [note] = effects_of(pended, 3)
    assert isinstance(note, NotifyStaff) and note.notice == "info_requested"


def test_a_webhook_pend_schedules_no_inquiry():
    s = Scenario()
    s.decision("A4")
    assert "payer_inquiry_due" not in s.state.deadlines
    assert s.state.pending is not None and s.state.pending.inquire_until is None


def test_each_inquiry_is_an_effect_and_schedules_the_next():
    s = Scenario()
    pas_decision(s, "A4")
    first = s.fire("payer_inquiry_due")
    second = s.fire("payer_inquiry_due")
    assert s.types(first + second) == ["payer_inquired", "payer_inquired"]
    [effect] = effects_of(second[0], 9)
    assert effect == InquirePayer(
        key=f"{s.trace}:2", trace_number=s.trace, purpose="initial", units=20, inquiry=2
    )
    assert s.state.deadlines["payer_inquiry_due"] == T0 + timedelta(minutes=180)


def test_inquiries_stop_at_the_deadline_the_last_one_on_it():
    s = Scenario(urgency="expedited")
    pas_decision(s, "A4")
    until = T0 + timedelta(hours=72)
    count = 0
    while "payer_inquiry_due" in s.state.deadlines:
        s.fire("payer_inquiry_due")
        count += 1
        assert count < 100
    assert count == 72
    assert s.now == until
    assert s.state.pending is not None and s.state.pending.inquiries == 72


def test_an_inquirys_still_pended_answer_changes_nothing():
    s = Scenario()
    pas_decision(s, "A4")
    s.fire("payer_inquiry_due")
    before = s.state
    assert pas_decision(s, "A4") == []
    assert s.state == before


def test_the_final_answer_ends_the_inquiries():
    s = Scenario()
    pas_decision(s, "A4")
    s.fire("payer_inquiry_due")
    due = s.state.deadlines["payer_inquiry_due"]
    pas_decision(s, "A1", authorization_number="PA-9", end="2026-12-31", units=20)
    assert s.state.status == "authorized"
    assert "payer_inquiry_due" not in s.state.deadlines
    with pytest.raises(Rejected) as refused:
        s.run(c.DeadlineReached(kind="payer_inquiry_due", due=due))
    assert refused.value.code == "stale_deadline"


def test_a_pend_after_the_decision_deadline_inquires_until_the_answer_is_due():
    s = Scenario(payer={"id": "ma", "plan_type": "medicare_advantage"})
    s.fire("payer_decision_due")  # escalated, still waiting
    pas_decision(s, "A4")
    assert s.state.pending is not None
    assert s.state.pending.inquire_until == s.now + timedelta(days=14)


def test_a_failed_inquiry_is_recorded_and_keeps_the_clock():
    s = Scenario()
    pas_decision(s, "A4")
    s.fire("payer_inquiry_due")
    deadlines = dict(s.state.deadlines)
    key = f"{s.trace}:1"
    detail = {"trace_number": s.trace, "purpose": "initial", "units": 20, "inquiry": 1}
    [failed] = s.run(c.RecordEffectFailure(kind="inquire_payer", key=key, reason="503",
                                           detail=detail))  # fmt: skip
    assert failed.type == "submission_failed"
    assert s.state.deadlines == deadlines
    [retried] = s.run(c.RetryFailedEffects(by="ops"))
    [effect] = effects_of(retried, 12)
    assert effect == InquirePayer(
        key=key, attempt=1, trace_number=s.trace, purpose="initial", units=20, inquiry=1
    )


def test_a_failed_inquiry_is_a_worklist_item_ops_can_retry():
    s = Scenario()
    pas_decision(s, "A4")
    s.fire("payer_inquiry_due")
    key = f"{s.trace}:1"
    s.run(c.RecordEffectFailure(kind="inquire_payer", key=key, reason="503"))
    items = [i for i in worklist_items(s.state, s.now) if i.kind == "submit_request_failed"]
    [item] = items
    assert key in item.detail and "503" in item.detail

"""Failed effects are events: what each records, the payer clock, and what a retry does."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.errors import Rejected
from domain.project import worklist_items
from tests.support.scenario import Scenario


def failed(s: Scenario, kind: str, key: str, **fields: object) -> list[str]:
    reason = str(fields.pop("reason", "refused"))
    cmd = c.RecordEffectFailure(kind=kind, key=key, reason=reason, **fields)  # type: ignore[arg-type]
    return [e.type for e in s.run(cmd)]


def test_an_undelivered_request_stops_the_payer_clock_and_shows_on_the_worklist() -> None:
    s = Scenario()
    detail = {"purpose": "initial", "units": 20, "trace_number": s.trace}

    assert failed(s, "submit_request", s.trace, detail=detail) == ["submission_failed"]

    assert "payer_decision_due" not in s.state.deadlines
    assert s.state.pending is not None and s.state.pending.undelivered == "refused"
    [item] = worklist_items(s.state, s.now)
    assert item.kind == "submit_request_failed" and f"submit_request:{s.trace}:0" in item.detail


def test_the_same_failure_reported_twice_is_one_event() -> None:
    s = Scenario()
    detail = {"purpose": "initial", "units": 20}
    failed(s, "submit_request", s.trace, detail=detail)
    assert failed(s, "submit_request", s.trace, detail=detail) == []


def test_each_kind_of_effect_records_its_own_event_and_keeps_the_clock() -> None:
    s = Scenario()
    due = s.state.deadlines["payer_decision_due"]
    assert failed(s, "request_p2p", "p2p-1") == ["submission_failed"]
    assert failed(s, "deliver_claim", "C-1", detail={"claim": {}}) == ["claim_delivery_failed"]
    assert failed(s, "notify", "7", detail={"kind": "denied"}) == ["notification_dropped"]
    assert s.state.deadlines["payer_decision_due"] == due
    kinds = {i.kind for i in worklist_items(s.state, s.now)}
    assert kinds == {"request_p2p_failed", "deliver_claim_failed", "notify_failed"}


def test_a_retry_restarts_the_payer_clock_from_the_retry_with_a_new_attempt() -> None:
    s = Scenario()
    failed(s, "submit_request", s.trace, detail={"purpose": "initial", "units": 20})
    s.advance(hours=5)

    [retried] = s.run(c.RetryFailedEffects(by="ops"))

    assert retried.type == "effect_retried" and retried.attempt == 1
    assert retried.decision_due is not None and retried.decision_due > s.now
    assert s.state.deadlines["payer_decision_due"] == retried.decision_due
    assert s.state.pending is not None and s.state.pending.undelivered is None
    assert worklist_items(s.state, s.now) == []


def test_a_failure_named_by_reference_takes_purpose_and_units_from_the_pending_request() -> None:
    s = Scenario()
    ack = c.RecordEffectFailure(
        kind="submit_request", key=s.trace, reason="999 rejected", reference="ack-7"
    )

    [event] = s.run(ack)

    assert event.type == "submission_failed"
    assert event.failure_id == f"submit_request:{s.trace}:ack-7"
    assert event.detail["purpose"] == "initial" and event.detail["units"] == 20


def test_a_reported_failure_of_a_request_nobody_waits_for_is_refused() -> None:
    s = Scenario()
    stray = c.RecordEffectFailure(kind="submit_request", key="SD-OTHER-1", reason="999")
    with pytest.raises(Rejected) as refused:
        s.run(stray)
    assert refused.value.code == "invalid_input"


def test_retrying_an_unknown_failure_or_nothing_is_refused_and_changes_nothing() -> None:
    s = Scenario()
    version = s.state.version
    with pytest.raises(Rejected) as nothing:
        s.run(c.RetryFailedEffects())
    with pytest.raises(Rejected) as unknown:
        s.run(c.RetryFailedEffects(failure_id="submit_request:x:0"))
    assert (nothing.value.code, unknown.value.code) == ("invalid_state", "not_found")
    assert s.state.version == version


def test_a_dropped_notification_is_not_sent_again_by_a_retry() -> None:
    from domain.effects import effects_of

    s = Scenario()
    failed(s, "notify", "7", detail={"kind": "denied", "detail": "denied"})
    [retried] = s.run(c.RetryFailedEffects())
    assert effects_of(retried, s.state.version) == []


def test_a_resent_extension_request_gets_the_extension_window() -> None:
    s = Scenario()
    s.approve()
    s.fire("concurrent_review_due")
    assert s.state.pending is not None and s.state.pending.purpose == "extension"
    failed(s, "submit_request", s.trace, detail={"purpose": "extension", "units": 20})

    [retried] = s.run(c.RetryFailedEffects())

    assert retried.decision_due is not None
    assert s.state.deadlines["payer_decision_due"] == retried.decision_due

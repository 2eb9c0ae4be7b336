"""Effects the world refused: a failure becomes an event, and ops can ask for another try.

A submission that never reached the payer starts no payer clock (DOMAIN §3 counts the
decision window from the payer's receipt of the request): the failure stops the
`payer_decision_due` deadline, and a retry starts it again from the moment of the retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import events as ev
from domain.commands import RecordEffectFailure, RetryFailedEffects
from domain.errors import Rejected
from domain.guards import require_open
from domain.state import EffectFailure, Episode, open_failures
from domain.timing import decision_due, ends_at, extension_decision_due


def failure_id(kind: str, key: str, attempt: int, reference: str | None = None) -> str:
    return f"{kind}:{key}:{reference if reference is not None else attempt}"


def record_effect_failure(
    state: Episode, cmd: RecordEffectFailure, now: datetime
) -> list[ev.Event]:
    """Recorded in every state, terminal ones included: a failure is a fact, not a request."""
    require_open(state)
    fid = failure_id(cmd.kind, cmd.key, cmd.attempt, cmd.reference)
    if fid in state.failures:
        return []  # the same failure reported twice
    detail = _complete(state, cmd)
    common = {
        "at": now,
        "failure_id": fid,
        "key": cmd.key,
        "reason": cmd.reason,
        "attempt": cmd.attempt,
        "detail": detail,
    }
    if cmd.kind == "submit_request":
        purpose = str(detail["purpose"])
        return [ev.SubmissionFailed(kind=cmd.kind, purpose=purpose, **common)]
    if cmd.kind == "request_p2p":
        return [ev.SubmissionFailed(kind=cmd.kind, purpose="p2p", **common)]
    if cmd.kind == "inquire_payer":
        # The payer's clock keeps running (it has the request); the next inquiry still goes.
        return [ev.SubmissionFailed(kind=cmd.kind, purpose="inquiry", **common)]
    if cmd.kind == "deliver_claim":
        return [ev.ClaimDeliveryFailed(**common)]
    return [ev.NotificationDropped(**common)]


def _complete(state: Episode, cmd: RecordEffectFailure) -> dict[str, Any]:
    """The effect's detail, so a retry can send the request again; a failure reported from
    outside (a 999) names only the trace, and the pending request supplies the rest."""
    if cmd.kind != "submit_request" or {"purpose", "units"} <= cmd.detail.keys():
        return cmd.detail
    pending = state.pending
    if pending is None or pending.trace_number != cmd.key:
        raise Rejected("invalid_input", f"no request {cmd.key} is waiting for the payer")
    known = {"trace_number": cmd.key, "purpose": pending.purpose, "units": pending.units}
    return {**known, **cmd.detail}


def retry_failed_effects(state: Episode, cmd: RetryFailedEffects, now: datetime) -> list[ev.Event]:
    require_open(state)
    if cmd.failure_id is not None and cmd.failure_id not in state.failures:
        raise Rejected("not_found", f"no failed effect {cmd.failure_id} on this episode")
    chosen = [f for f in open_failures(state) if cmd.failure_id in (None, f.failure_id)]
    if not chosen:
        raise Rejected("invalid_state", "no failed effect is waiting for a retry")
    return [
        ev.EffectRetried(
            at=now,
            failure_id=f.failure_id,
            kind=f.kind,
            key=f.key,
            attempt=f.attempt + 1,
            detail=f.detail,
            by=cmd.by,
            decision_due=_restarted_clock(state, f, now),
        )
        for f in chosen
    ]


def _restarted_clock(state: Episode, failure: EffectFailure, now: datetime) -> datetime | None:
    pending = state.pending
    if failure.kind != "submit_request" or pending is None or state.opened is None:
        return None
    if pending.trace_number != failure.key or pending.undelivered is None:
        return None
    urgency = state.opened.urgency
    if pending.purpose == "extension" and state.authorizations:
        current = max(state.authorizations, key=lambda a: a.end)
        return extension_decision_due(state.policy, urgency, now, ends_at(current))
    return decision_due(state.policy, urgency, now)

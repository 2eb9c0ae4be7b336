"""Turns the ops actions of the HTTP contract into domain commands (pure; no Temporal)."""

from __future__ import annotations

from domain import commands as c
from domain.errors import Rejected
from domain.state import Episode
from workflows.models import AppealAction, ClaimResult, P2PAction


def p2p_command(action: P2PAction) -> c.RequestP2P | c.ScheduleP2P | c.RecordP2POutcome:
    if action.action != "request" and action.attachments:
        raise Rejected("invalid_input", "attachments go with a P2P request only")
    if action.action == "request":
        return c.RequestP2P(attachments=action.attachments, actor=action.actor)
    if action.action == "schedule":
        if action.at is None:
            raise Rejected(
                "invalid_input", "`at` (the call's date and time) is required to schedule"
            )
        if action.at.tzinfo is None:
            raise Rejected(
                "invalid_input", "`at` needs a UTC offset, e.g. 2026-11-25T15:00:00+00:00"
            )
        return c.ScheduleP2P(at=action.at, reviewer=action.reviewer, actor=action.actor)
    if action.outcome is None:
        raise Rejected("invalid_input", "`outcome` (overturned or upheld) is required")
    return c.RecordP2POutcome(
        outcome=action.outcome, reviewer=action.reviewer, notes=action.notes, actor=action.actor
    )


def appeal_command(action: AppealAction) -> c.FileAppeal | c.RecordAppealOutcome:
    if action.action == "file":
        return c.FileAppeal(level=action.level, attachments=action.attachments, actor=action.actor)
    if action.attachments:
        raise Rejected("invalid_input", "attachments go with filing an appeal only")
    if action.outcome is None:
        raise Rejected("invalid_input", "`outcome` (overturned or upheld) is required")
    return c.RecordAppealOutcome(outcome=action.outcome, actor=action.actor)


def claim_result(state: Episode, claim_id: str) -> ClaimResult:
    """The answer to a claim request. A claim whose lines went into a newer claim for the same
    month (issue 12: one claim a month) answers with that claim, so a repeated request still
    gets the claim that carries its lines."""
    record = state.claims[claim_id]
    seen = {claim_id}
    while record.superseded_by and record.superseded_by not in seen:
        seen.add(record.superseded_by)
        record = state.claims[record.superseded_by]
    status = "released" if record.status == "released" else "held"
    return ClaimResult(
        claim_id=record.claim_id,
        status=status,
        claim=record.claim,
        reasons=list(record.reasons),
        dropped=list(record.dropped),
    )

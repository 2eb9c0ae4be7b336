"""Billing voids or corrects a recorded service: events, never deletes (issue 12, §6–§7)."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.claims import Released, check_services, close_if_done, held_claim_event, regate
from domain.claims import released_claim_event as released_events
from domain.commands import CorrectService, VoidService
from domain.decide_coverage import exhausted_after
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.state import ClaimRecord, Episode


def void_service(state: Episode, cmd: VoidService, now: datetime) -> list[ev.Event]:
    require_active(state)
    if cmd.service_id in state.voided_services:
        return []  # idempotent: voiding a voided service changes nothing
    _changeable(state, cmd.service_id)
    voided = ev.ServiceVoided(at=now, service_id=cmd.service_id, reason=cmd.reason)
    return _follow_up(state, [voided], cmd.service_id, now)


def correct_service(state: Episode, cmd: CorrectService, now: datetime) -> list[ev.Event]:
    require_active(state)
    sid = cmd.service.service_id
    if sid in state.voided_services:
        raise Rejected("invalid_state", f"service {sid} was voided; record it under a new id")
    if state.services.get(sid) == cmd.service:
        return []  # idempotent: the correction is already in place (even once released)
    _changeable(state, sid)
    # The corrected line passes the same checks as a new one (judged without the old line).
    without = state.model_copy(
        update={"services": {k: v for k, v in state.services.items() if k != sid}}
    )
    check = check_services(without, [cmd.service], now)
    if check.rejected:
        raise Rejected("invalid_input", [f"{p.service_id}: {p.detail}" for p in check.rejected])
    corrected = ev.ServiceCorrected(at=now, service=cmd.service, reason=cmd.reason)
    return _follow_up(state, [corrected], sid, now)


def _changeable(state: Episode, service_id: str) -> None:
    if service_id not in state.services:
        raise Rejected("unknown_service", f"no service {service_id} is recorded on this episode")
    for record in state.released_claims:
        if service_id in record.service_ids:
            raise Rejected(
                "invalid_state",
                f"service {service_id} is on released claim {record.claim_id}; a sent line "
                "cannot change here — ask the payer to adjust or void that claim",
            )


def _follow_up(
    state: Episode, events: list[ev.Event], service_id: str, now: datetime
) -> list[ev.Event]:
    """A held claim holding the service is gated again: a hold that service caused clears."""
    after = fold(events, state)
    record = _held_with(state, service_id)
    if record is None:
        return events + close_if_done(after, now)
    try:
        verdict = regate(after, after.claims[record.claim_id])
    except Rejected:
        withdrawn = [ev.ClaimSuperseded(at=now, claim_id=record.claim_id, by="")]
        return events + withdrawn + close_if_done(fold(withdrawn, after), now)
    if isinstance(verdict, Released):
        more = released_events(verdict, record.claim_id, now, was_held=True)
    else:
        more = held_claim_event(verdict, record.claim_id, record.through, now)
    after = fold(more, after)
    ended = exhausted_after(after, now)
    return events + more + ended + close_if_done(fold(ended, after), now)


def _held_with(state: Episode, service_id: str) -> ClaimRecord | None:
    return next((c for c in state.held_claims if service_id in c.service_ids), None)

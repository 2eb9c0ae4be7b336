"""Decisions for attended services, claim release, discharge and cancellation (§5–§7)."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.claims import (
    Released,
    check_services,
    close_if_done,
    gate,
    held_claim_event,
    ledger,
    released_claim_event,
)
from domain.codes import PATIENT_STATUS
from domain.commands import Cancel, Discharge, RecordServices, ReleaseClaim
from domain.decide_payer import exhausted_after, extension_request, pending_lines
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active, require_open
from domain.levels import is_valid_level
from domain.state import Episode, live_authorizations


def record_services(state: Episode, cmd: RecordServices, now: datetime) -> list[ev.Event]:
    require_active(state)
    check = check_services(state, cmd.services, now)
    if not check.accepted:
        return []
    warnings = tuple(f"{w.service_id}: {w.detail}" for w in check.warnings)
    events: list[ev.Event] = [
        ev.ServicesRecorded(at=now, services=check.accepted, warnings=warnings)
    ]
    after = fold(events, state)
    return events + _units_follow_up(after, now)


def _units_follow_up(state: Episode, now: datetime) -> list[ev.Event]:
    """§5: 80 % of the units used makes a concurrent review due. Units are consumed only by
    released lines, but the review looks ahead: the attended, billable lines not yet released
    count towards it (they will draw on the authorization once released)."""
    used = ledger(state, pending_lines(state)).used
    events: list[ev.Event] = []
    live = live_authorizations(state)
    fraction = state.policy.review_units_fraction
    near_limit = any(used.get(a.number, 0) >= fraction * a.units for a in live)
    if near_limit and state.pending is None and state.status == "authorized":
        share = f"{round(fraction * 100)} %"
        events.append(extension_request(state, now, f"{share} of the authorized units are used"))
    return events


def release_claim(state: Episode, cmd: ReleaseClaim, now: datetime) -> list[ev.Event]:
    require_open(state)
    if cmd.claim_id in state.claims:
        return []
    require_active(state)
    verdict = gate(state, cmd.through)
    if isinstance(verdict, Released):
        released = released_claim_event(verdict, cmd.claim_id, now)
        after = fold(released, state)
        ended = exhausted_after(after, now)
        return [*released, *ended, *close_if_done(fold(ended, after), now)]
    return held_claim_event(verdict, cmd.claim_id, cmd.through, now)


def discharge(state: Episode, cmd: Discharge, now: datetime) -> list[ev.Event]:
    require_active(state)
    assert state.opened is not None
    if state.discharge is not None:
        raise Rejected("invalid_state", "the episode is already discharged")
    problems = _discharge_problems(state, cmd, now)
    if problems:
        raise Rejected("invalid_input", problems)
    event = ev.Discharged(
        at=now,
        date=cmd.date,
        patient_status=cmd.patient_status,
        disposition=cmd.disposition,
        to_level=cmd.to_level,
    )
    return [event, *close_if_done(fold([event], state), now)]


def _discharge_problems(state: Episode, cmd: Discharge, now: datetime) -> list[str]:
    assert state.opened is not None
    problems = []
    if cmd.patient_status not in PATIENT_STATUS or cmd.patient_status == "30":
        problems.append(f"patient_status {cmd.patient_status!r} is not a discharge status (§6)")
    if cmd.date > now.date():
        problems.append("the discharge date is in the future")
    last_service = max((s.date for s in state.services.values()), default=None)
    if last_service is not None and cmd.date < last_service:
        problems.append(f"services are recorded after the discharge date (last on {last_service})")
    edition = state.opened.asam_edition
    if cmd.to_level is not None and not is_valid_level(cmd.to_level, edition):
        problems.append(f"to_level {cmd.to_level!r} is not an ASAM edition {edition} level")
    return problems


def cancel(state: Episode, cmd: Cancel, now: datetime) -> list[ev.Event]:
    require_active(state)
    if state.released_claims:
        raise Rejected(
            "invalid_state", "claims were already released for this episode; discharge it instead"
        )
    return [ev.EpisodeCancelled(at=now, reason=cmd.reason)]

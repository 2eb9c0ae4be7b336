"""Decisions for attended services and claim release (§5–§7)."""

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
from domain.commands import RecordServices, ReleaseClaim
from domain.decide_coverage import exhausted_after, extension_request, pending_lines
from domain.evolve import fold
from domain.guards import require_active, require_open
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

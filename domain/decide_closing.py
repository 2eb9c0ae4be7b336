"""Ending an episode: discharge from IOP (with its final claim) and cancellation (§5, §6)."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.claims import (
    close_if_done,
)
from domain.codes import PATIENT_STATUS
from domain.commands import Cancel, Discharge
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.levels import is_valid_level
from domain.state import Episode


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

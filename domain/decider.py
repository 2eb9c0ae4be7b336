"""The episode decider: `decide`, `evolve` and `deadlines`, the one entry point of the domain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import commands as c
from domain import decide_attendance as attendance
from domain import decide_billing as billing
from domain import decide_clock as clock
from domain import decide_closing as closing
from domain import decide_corrections as corrections
from domain import decide_effects as failures
from domain import decide_opening as opening
from domain import decide_payer as payer
from domain import decide_review as review
from domain import decide_windows as windows
from domain.errors import Rejected
from domain.events import Event
from domain.evolve import evolve, fold
from domain.model import Deadline
from domain.state import Episode

_DECIDERS: dict[type[Any], Callable[[Episode, Any, datetime], list[Event]]] = {
    c.OpenEpisode: opening.open_episode,
    c.ApplyPayerDecision: payer.apply_decision,
    c.ProvideInformation: payer.provide_information,
    c.RequestP2P: review.request_p2p,
    c.ScheduleP2P: review.schedule_p2p,
    c.RecordP2POutcome: review.record_p2p_outcome,
    c.FileAppeal: review.file_appeal,
    c.RecordAppealOutcome: review.record_appeal_outcome,
    c.RecordServices: billing.record_services,
    c.ReleaseClaim: billing.release_claim,
    c.Discharge: closing.discharge,
    c.Cancel: closing.cancel,
    c.DeadlineReached: clock.deadline_reached,
    c.RecordEffectFailure: failures.record_effect_failure,
    c.RetryFailedEffects: failures.retry_failed_effects,
    c.VoidService: corrections.void_service,
    c.CorrectService: corrections.correct_service,
    c.ExtendDecision: windows.extend_decision,
    c.SetSchedule: attendance.set_schedule,
    c.RecordAttendance: attendance.record_attendance,
}


def decide(state: Episode, command: c.Command, now: datetime) -> list[Event]:
    """The events `command` produces at `now`; raises `Rejected` and changes nothing otherwise."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    events = _DECIDERS[type(command)](state, command, now)
    actor = getattr(command, "actor", None)
    if actor is None:
        return events
    # Every event a person's command causes names that person (held claims included).
    return [event.model_copy(update={"actor": actor}) for event in events]


def deadlines(state: Episode) -> list[Deadline]:
    """What the clock is waiting for, soonest first."""
    return sorted(
        (Deadline(kind=k, due=v) for k, v in state.deadlines.items()), key=lambda d: (d.due, d.kind)
    )


__all__ = ["Rejected", "deadlines", "decide", "evolve", "fold"]

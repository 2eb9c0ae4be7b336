"""Decisions for the program schedule and session attendance; attended, billed sessions
derive their services in the same step (issue 12, §1, §7)."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.attendance import AttendanceEntry
from domain.claims import check_services
from domain.commands import RecordAttendance, RecordServices, SetSchedule
from domain.decide_billing import record_services
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.state import Episode


def set_schedule(state: Episode, cmd: SetSchedule, now: datetime) -> list[ev.Event]:
    require_active(state)
    if state.schedule == cmd.schedule:
        return []
    return [ev.ScheduleSet(at=now, schedule=cmd.schedule)]


def record_attendance(state: Episode, cmd: RecordAttendance, now: datetime) -> list[ev.Event]:
    """All or nothing: every problem of the batch is listed and nothing is recorded. The same
    session again is a duplicate; a session changed after recording is refused."""
    require_active(state)
    assert state.opened is not None
    fresh: dict[str, AttendanceEntry] = {}
    problems: list[str] = []
    for entry in cmd.sessions:
        known = state.attendance.get(entry.session_id) or fresh.get(entry.session_id)
        if known is not None:
            if known != entry:
                problems.append(f"{entry.session_id}: already recorded with other details")
            continue
        problems += entry.problems() + _date_problems(state, entry, now)
        if entry.status != "attended" and entry.session_id in state.services:
            problems.append(
                f"{entry.session_id}: a service is recorded for this session; void it first"
            )
        fresh[entry.session_id] = entry
    derived = [s for e in fresh.values() if (s := e.service()) is not None]
    check = check_services(state, derived, now)
    problems += [f"{p.service_id}: {p.detail}" for p in check.rejected]
    if problems:
        raise Rejected("invalid_input", problems)
    if not fresh:
        return []
    events: list[ev.Event] = [ev.AttendanceRecorded(at=now, sessions=tuple(fresh.values()))]
    if check.accepted:
        after = fold(events, state)
        events += record_services(after, RecordServices(services=check.accepted), now)
    return events


def _date_problems(state: Episode, entry: AttendanceEntry, now: datetime) -> list[str]:
    assert state.opened is not None
    first = min(state.opened.at.date(), state.opened.requested.start)
    out = []
    if entry.date > now.date():
        out.append(f"{entry.session_id}: {entry.date} is in the future")
    if entry.date < first:
        out.append(f"{entry.session_id}: {entry.date} is before the episode opened on {first}")
    if state.discharge is not None and entry.date > state.discharge.date:
        out.append(f"{entry.session_id}: {entry.date} is after the discharge")
    return out

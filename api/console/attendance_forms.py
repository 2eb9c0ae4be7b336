"""Console forms for the program schedule and a session's attendance (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.console.fields import field, select, text_input
from domain import commands as c
from domain.attendance import AttendanceEntry, ProgramSchedule

Form = dict[str, str]
Errors = dict[str, list[str]]
STATUSES = [
    ("attended", "attended"),
    ("no_show", "no-show"),
    ("late_cancel", "late cancellation"),
    ("excused", "excused"),
]


def _value(form: Form, name: str) -> str | None:
    return form.get(name, "").strip() or None


def build_schedule(form: Form) -> c.SetSchedule:
    schedule = {
        "days_per_week": _value(form, "days_per_week"),
        "hours_per_day": _value(form, "hours_per_day"),
    }
    return c.SetSchedule(schedule=ProgramSchedule.model_validate(schedule))


def build_attendance(form: Form) -> c.RecordAttendance:
    """One session a submission; a no-show or late cancel is recorded without minutes."""
    session: dict[str, Any] = {
        "session_id": _value(form, "session_id"),
        "date": _value(form, "date"),
        "status": _value(form, "status"),
    }
    if session["status"] == "attended":
        session["minutes"] = _value(form, "minutes")
    return c.RecordAttendance(sessions=(AttendanceEntry.model_validate(session),))


def schedule_fields(form: Form, errors: Errors, scope: str) -> str:
    days = text_input(
        "days_per_week",
        form.get("days_per_week", "3"),
        kind="number",
        scope=scope,
        invalid="days_per_week" in errors or "schedule" in errors,
        min="1",
        max="7",
    )
    hours = text_input(
        "hours_per_day",
        form.get("hours_per_day", "3"),
        kind="number",
        scope=scope,
        invalid="hours_per_day" in errors,
        step="0.25",
    )
    return field("days_per_week", "Days a week", days, errors, scope=scope) + field(
        "hours_per_day", "Hours a day", hours, errors, scope=scope
    )


def attendance_fields(form: Form, errors: Errors, scope: str) -> str:
    today = datetime.now(UTC).date().isoformat()
    session = text_input(
        "session_id", form.get("session_id", ""), scope=scope, invalid="session_id" in errors
    )
    day = text_input("date", form.get("date", today), kind="date", scope=scope)
    status = select("status", STATUSES, form.get("status", "attended"), scope=scope)
    minutes = text_input("minutes", form.get("minutes", ""), kind="number", scope=scope, min="1")
    return (
        field("session_id", "Session id", session, errors, scope=scope)
        + field("date", "Date", day, errors, scope=scope)
        + field("status", "Attendance", status, errors, scope=scope)
        + field("minutes", "Minutes (attended only)", minutes, errors, scope=scope)
    )

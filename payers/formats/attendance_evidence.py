"""Attendance evidence in a concurrent review / extension request (DOMAIN §5, issue 12): days
and hours attended, missed sessions and the units used of the authorization extended, as PAS
`Claim.supportingInfo` facts and as the text of an X12 278 MSG.

The input is the `attendance_summary` of the request payload: the JSON form of
`domain.attendance.AttendanceSummary` (None when no attendance was recorded)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

Json = dict[str, Any]
# Our own code system for the attendance facts (neither PAS nor X12 names them).
ATTENDANCE_SYSTEM = "urn:stepdown:attendance"
UCUM = "http://unitsofmeasure.org"
# MSG01 holds at most 264 characters (X217).
MSG_LIMIT = 264


def pas_facts(summary: Json | None) -> list[Json]:
    """The supportingInfo facts (code, timing, value) of the summary; [] without one."""
    if not summary:
        return []
    period = {"start": summary["first"], "end": summary["last"]}
    facts: list[Json] = [
        _fact("days-attended", "Days attended", period,
              valueQuantity=_ucum(summary["days_attended"], "d", "days")),
        _fact("sessions-attended", "Sessions attended", period,
              valueQuantity={"value": summary["sessions_attended"], "unit": "sessions"}),
        _fact("hours-attended", "Hours attended", period,
              valueQuantity=_ucum(float(summary["hours_attended"]), "h", "hours")),
        _fact("sessions-missed", "Sessions missed (no-show or late cancellation)", period,
              valueQuantity={"value": _missed(summary), "unit": "sessions"}),
    ]  # fmt: skip
    for status, label in (("no_shows", "no-show"), ("late_cancels", "late-cancel")):
        for day in summary.get(status) or []:
            facts.append(_fact(label, f"Missed session ({label})", None, day, valueBoolean=True))
    if summary.get("excused"):
        facts.append(
            _fact("sessions-excused", "Sessions excused", period,
                  valueQuantity={"value": summary["excused"], "unit": "sessions"})
        )  # fmt: skip
    if summary.get("schedule"):
        facts.append(_fact("schedule", "Program schedule", None, valueString=_schedule(summary)))
    for week in summary.get("weeks_below") or []:
        start = date.fromisoformat(week["week"])
        span = {"start": week["week"], "end": (start + timedelta(days=6)).isoformat()}
        text = (
            f"{week['hours']} hours attended, below the {week['minimum']} hours a week of "
            f"ASAM level {summary.get('level', '')}"
        )
        facts.append(_fact("week-below-minimum", "Week below the level's minimum hours", span,
                           valueString=text))  # fmt: skip
    if summary.get("units_used") is not None:
        facts.append(
            _fact("units-used", f"Units used of authorization {summary['authorization_number']}",
                  None, valueQuantity={"value": summary["units_used"],
                                       "unit": summary.get("unit_type") or "units"})
        )  # fmt: skip
        facts.append(
            _fact("units-approved", f"Units approved on {summary['authorization_number']}",
                  None, valueQuantity={"value": summary["units_approved"],
                                       "unit": summary.get("unit_type") or "units"})
        )  # fmt: skip
    return facts


def x12_note(summary: Json | None) -> str | None:
    """The evidence as one MSG01 text (264 characters at most, the weeks below last), with no
    colon, which the 278 uses as its component separator."""
    if not summary:
        return None
    parts = [
        f"Attendance {summary['first']} to {summary['last']}, {summary['days_attended']} days, "
        f"{summary['sessions_attended']} sessions, {summary['hours_attended']} h attended",
        f"missed {_missed(summary)}{_missed_dates(summary)}",
    ]
    if summary.get("units_used") is not None:
        parts.append(
            f"units used {summary['units_used']} of {summary['units_approved']} "
            f"{summary.get('unit_type') or 'units'} on {summary['authorization_number']}"
        )
    weeks = summary.get("weeks_below") or []
    if weeks:
        shown = ", ".join(f"wk {w['week']} {w['hours']} h" for w in weeks)
        parts.append(f"below {weeks[0]['minimum']} h/wk in {shown}")
    # The least telling last: a long note loses these first.
    if summary.get("excused"):
        parts.append(f"excused {summary['excused']}")
    if summary.get("schedule"):
        parts.append(f"schedule {_schedule(summary)}")
    note = "; ".join(parts)
    return note if len(note) <= MSG_LIMIT else note[: MSG_LIMIT - 3] + "..."


def _missed(summary: Json) -> int:
    return len(summary.get("no_shows") or []) + len(summary.get("late_cancels") or [])


def _missed_dates(summary: Json) -> str:
    shown = []
    for key, label in (("no_shows", "no-show"), ("late_cancels", "late cancel")):
        if summary.get(key):
            shown.append(f"{label} {' '.join(summary[key])}")
    return f" ({', '.join(shown)})" if shown else ""


def _schedule(summary: Json) -> str:
    schedule = summary["schedule"]
    return f"{schedule['days_per_week']} days a week, {schedule['hours_per_day']} hours a day"


def _ucum(value: float, code: str, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _fact(
    code: str, display: str, period: Json | None, day: str | None = None, **value: Any
) -> Json:
    fact: Json = {"code": {"coding": [{"system": ATTENDANCE_SYSTEM, "code": code,
                                       "display": display}]}}  # fmt: skip
    if period is not None:
        fact["timingPeriod"] = period
    if day is not None:
        fact["timingDate"] = day
    return fact | value

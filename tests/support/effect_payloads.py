"""An attendance summary as an earlier release wrote it into an effect's detail (JSON), for
the tests of typed effects and of the activity arguments built from them."""

from __future__ import annotations

from typing import Any

ATTENDANCE_SUMMARY_JSON: dict[str, Any] = {
    "first": "2026-11-23",
    "last": "2026-12-04",
    "days_attended": 3,
    "sessions_attended": 3,
    "hours_attended": "8.00",
    "no_shows": ["2026-11-25"],
    "late_cancels": [],
    "excused": 1,
    "schedule": None,
    "level": "2.1",
    "weeks_below": [],
    "authorization_number": "AUTH-1",
    "units_used": 2,
    "units_approved": 20,
    "unit_type": "days",
}

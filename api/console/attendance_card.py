"""The episode page's attendance card: schedule, hours a week against the level's minimum,
missed sessions and the no-show fee (issue 12)."""

from __future__ import annotations

from typing import Any

from api.console.templates import ENV
from domain.views import AttendanceView, ClaimView


def _cards() -> Any:
    return ENV.get_template("episode_cards.html").module


def attendance_card(attendance: AttendanceView | None) -> str:
    return "" if attendance is None else str(_cards().attendance(attendance))


def dropped_html(claim: ClaimView) -> str:
    """Lines left off a claim because they can never bill as recorded: void or correct them."""
    return str(_cards().dropped(claim))

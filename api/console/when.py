"""Times as people read them on a worklist: "in 3 h", "2 d overdue", "5 min ago"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from api.console.templates import ENV

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SOON_SECONDS = 24 * HOUR


def span(seconds: float) -> str:
    """A duration in the largest unit that still reads naturally; always rounded down."""
    seconds = abs(seconds)
    if seconds < HOUR:
        return f"{max(int(seconds // MINUTE), 1)} min"
    if seconds < 2 * DAY:
        return f"{int(seconds // HOUR)} h"
    return f"{int(seconds // DAY)} d"


def until(due: datetime, now: datetime) -> str:
    """How far away a deadline is: "in 3 h", or "2 d overdue" once it has passed."""
    seconds = (due - now).total_seconds()
    if abs(seconds) < MINUTE:
        return "due now"
    return f"in {span(seconds)}" if seconds > 0 else f"{span(seconds)} overdue"


def since(at: datetime, now: datetime) -> str:
    seconds = (now - at).total_seconds()
    if abs(seconds) < MINUTE:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(seconds)}"


def is_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and due <= now


def _macros() -> Any:
    return ENV.get_template("when.html").module


def due_html(due: datetime | None, now: datetime) -> str:
    """A <time> element with the relative text; the exact instant is its tooltip."""
    if due is None:
        return str(_macros().due(None, "", ""))
    seconds = (due - now).total_seconds()
    css = "overdue-text" if seconds <= 0 else "soon-text" if seconds < SOON_SECONDS else ""
    return str(_macros().due(until(due, now), due.isoformat(timespec="minutes"), css))


def at_html(at: datetime, now: datetime) -> str:
    exact = at.isoformat(timespec="seconds")
    shown = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(_macros().at(exact, shown, since(at, now)))


def waiting_html(since_at: datetime, now: datetime) -> str:
    """An undated worklist item: how long it has waited, which is what ranks it."""
    return str(_macros().waiting(span((now - since_at).total_seconds())))


def days_left(end: date, today: date) -> str:
    days = (end - today).days
    if days > 1:
        return f"{days} days left"
    if days == 1:
        return "1 day left"
    if days == 0:
        return "ends today"
    return f"ended {-days} day{'s' if days < -1 else ''} ago"


def local_due_html(due: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """The relative due time and, beside it, the exact local time with its zone."""
    if due is None:
        return str(_macros().local_due("", None))
    local = due.astimezone(zone)
    exact = f"{local:%a %d %b %H:%M} {local.tzname()}"
    return str(_macros().local_due(Markup(due_html(due, now)), exact))

"""Times as people read them on a worklist: "in 3 h", "2 d overdue", "5 min ago"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from api.console.page import esc

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


def due_html(due: datetime | None, now: datetime) -> str:
    """A <time> element with the relative text; the exact instant is its tooltip."""
    if due is None:
        return '<span class="muted">no date</span>'
    seconds = (due - now).total_seconds()
    css = "overdue-text" if seconds <= 0 else "soon-text" if seconds < SOON_SECONDS else ""
    exact = due.isoformat(timespec="minutes")
    label = until(due, now)
    return f'<time datetime="{esc(exact)}" title="{esc(exact)}" class="{css}">{esc(label)}</time>'


def at_html(at: datetime, now: datetime) -> str:
    exact = at.isoformat(timespec="seconds")
    shown = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<time datetime="{esc(exact)}" title="{esc(exact)}">{esc(shown)}</time>'
        f'<div class="muted small">{esc(since(at, now))}</div>'
    )


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
        return '<span class="muted">no date</span>'
    local = due.astimezone(zone)
    exact = f"{local:%a %d %b %H:%M} {local.tzname()}"
    return f'{due_html(due, now)}<div class="small muted">{esc(exact)}</div>'

"""When things are due: decision windows, authorization ends and concurrent review (§3–§5)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from domain.calendar import subtract_business_days
from domain.model import Authorization, Urgency
from domain.policy import DecisionWindow, PayerPolicy


def trace_number(episode_id: str, request_number: int) -> str:
    """A trace number the payer echoes back; derived from the episode id, never PHI."""
    digest = hashlib.sha256(episode_id.encode()).hexdigest()[:10].upper()
    return f"SD-{digest}-{request_number}"


def decision_due(
    policy: PayerPolicy, urgency: Urgency, now: datetime, requested_on: date | None = None
) -> datetime:
    """§3: the decision window of a request made on `requested_on` (default: today), from the
    policy's table of windows by request date (CMS-0057-F: 14 days before 2026-01-01, 7 on or
    after), counted from `now`."""
    day = requested_on or now.date()
    row = next(
        (w for w in sorted(policy.decision_windows, key=_start) if day < w.requested_before),
        None,
    )
    if urgency == "expedited":
        hours = row.expedited_hours if row else policy.decision_hours_expedited
        return now + timedelta(hours=hours)
    return now + timedelta(days=row.standard_days if row else policy.decision_days_standard)


def _start(window: DecisionWindow) -> date:
    return window.requested_before


def extension_decision_due(
    policy: PayerPolicy, urgency: Urgency, now: datetime, ends_at: datetime
) -> datetime:
    """§3: an urgent concurrent-care extension asked ≥ 24 h before the end is decided in 24 h;
    a standard (non-urgent) concurrent request keeps the standard window (issue 12)."""
    fast = policy.extension_decision_hours
    urgent = urgency == "expedited"
    if urgent and fast is not None and ends_at - now >= timedelta(hours=24):
        return now + timedelta(hours=fast)
    return decision_due(policy, urgency, now)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def ends_at(auth: Authorization) -> datetime:
    """An authorization covers its whole end date."""
    return start_of(auth.end + timedelta(days=1))


def review_due(policy: PayerPolicy, auth: Authorization) -> datetime:
    """§5: N business days before the end date, never later than 24 hours before the end."""
    by_business_days = start_of(
        subtract_business_days(auth.end, policy.review_business_days_before_end)
    )
    latest = ends_at(auth) - timedelta(hours=policy.review_min_hours_before_end)
    return min(by_business_days, latest)

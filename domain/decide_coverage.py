"""What a change of coverage does: held claims released when an authorization covers them,
an authorization used up, and the extension request with its attendance evidence (§5–§7)."""

from __future__ import annotations

from datetime import date, datetime

from domain import events as ev
from domain.attendance import MIN_HOURS_PER_WEEK, AttendanceSummary, summarize, weeks_below
from domain.claims import Released, regate, released_claim_event
from domain.evolve import fold
from domain.holds import never_billable
from domain.ledger import ledger
from domain.model import Service
from domain.state import ClaimRecord, Episode, live_authorizations
from domain.timing import ends_at, extension_decision_due, trace_number


def attendance_evidence(state: Episode) -> tuple[str, ...]:
    """§5 concurrent review: the weeks attended below the level's minimum hours (issue 12),
    evidence a payer's reviewer asks for."""
    assert state.opened is not None
    level = state.opened.to_level
    minimum = MIN_HOURS_PER_WEEK.get(level)
    return tuple(
        f"week of {week}: {hours} hours attended, below the {minimum} hours a week of level {level}"
        for week, hours in weeks_below(list(state.attendance.values()), minimum)
    )


def extension_request(state: Episode, now: datetime, reason: str) -> ev.AuthorizationRequested:
    assert state.opened is not None
    current = max(state.authorizations, key=lambda a: a.end)
    return ev.AuthorizationRequested(
        at=now,
        trace_number=trace_number(state.episode_id, state.request_count + 1),
        purpose="extension",
        decision_due=extension_decision_due(
            state.policy, state.opened.urgency, now, ends_at(current)
        ),
        units=state.opened.requested.units,
        reason=reason,
        attendance=attendance_evidence(state),
        attendance_summary=attendance_summary(state),
    )


def release_held(state: Episode, now: datetime) -> list[ev.Event]:
    """Held claims go out by themselves once coverage arrives (retro-authorizations included),
    in month order (§6), so a later month waiting for an earlier one follows it out."""
    out: list[ev.Event] = []
    current = state
    for record in sorted(state.held_claims, key=lambda r: _claim_month(state, r)):
        verdict = regate(current, current.claims[record.claim_id])
        if isinstance(verdict, Released):
            events = released_claim_event(verdict, record.claim_id, now, was_held=True)
            out.extend(events)
            current = fold(events, current)
    ended = exhausted_after(current, now)
    return out + ended


def _claim_month(state: Episode, record: ClaimRecord) -> tuple[date, str]:
    days = [state.services[sid].date for sid in record.service_ids if sid in state.services]
    return min(days, default=record.through), record.claim_id


def exhausted_after(state: Episode, now: datetime) -> list[ev.Event]:
    """§5: an authorization whose units released lines used up ends (exhausted)."""
    used = ledger(state).used
    return [
        ev.AuthorizationEnded(at=now, number=a.number, status="exhausted")
        for a in live_authorizations(state)
        if a.units and used.get(a.number, 0) >= a.units
    ]


def pending_lines(state: Episode) -> list[Service]:
    """Recorded, billable lines not on a released claim (held or not yet asked for)."""
    released = {sid for c in state.released_claims for sid in c.service_ids}
    return [
        s for s in state.services.values() if s.service_id not in released and not never_billable(s)
    ]


def attendance_summary(state: Episode) -> AttendanceSummary | None:
    """§5: what the extension request shows the reviewer — days and hours attended, missed
    sessions, and the units used of the authorization it extends (released lines only)."""
    assert state.opened is not None
    summary = summarize(list(state.attendance.values()), state.schedule, state.opened.to_level)
    if summary is None or not state.authorizations:
        return summary
    current = max(state.authorizations, key=lambda a: a.end)
    return summary.model_copy(
        update={
            "authorization_number": current.number,
            "units_used": ledger(state).used.get(current.number, 0),
            "units_approved": current.units,
            "unit_type": current.unit_type,
        }
    )

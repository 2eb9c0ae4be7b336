"""Decisions when a deadline passes: escalations, deemed denials, windows closing (§3–§5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain import events as ev
from domain.claims import close_if_done
from domain.commands import DeadlineReached
from domain.decide_coverage import extension_request
from domain.decide_review import p2p_decided
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.model import DeadlineKind
from domain.state import Episode, live_authorizations
from domain.timing import ends_at

ClockRule = Callable[[Episode, datetime], list[ev.Event]]


def deadline_reached(state: Episode, cmd: DeadlineReached, now: datetime) -> list[ev.Event]:
    require_active(state)
    if state.deadlines.get(cmd.kind) != cmd.due:
        raise Rejected("stale_deadline", f"no {cmd.kind} deadline at {cmd.due.isoformat()}")
    if now < cmd.due:
        raise Rejected("too_early", f"{cmd.kind} is not due until {cmd.due.isoformat()}")
    return _RULES[cmd.kind](state, now)


def _decision_due(state: Episode, now: datetime) -> list[ev.Event]:
    pending = state.pending
    assert pending is not None
    policy = state.policy
    if policy.missed_deadline_is_denial and pending.purpose != "reversal":
        # §3: in Medicaid managed care a decision not made in time is a denial on that day
        # (42 CFR 438.404(c)(5)).
        return [
            ev.AuthorizationDenied(
                at=now,
                trace_number=pending.trace_number,
                delivery_id="",
                purpose=pending.purpose,
                reason_code="deemed",
                reason="no decision by the deadline: deemed a denial (42 CFR 438.404(c)(5))",
                deemed=True,
                p2p_window_closes=now + timedelta(days=policy.p2p_window_days),
                appeal_filing_due=now + timedelta(days=policy.appeal_filing_days),
            )
        ]
    # §3: escalate, keep waiting, escalate once more at a later deadline.
    escalation = pending.escalations + 1
    later = now + timedelta(hours=policy.second_escalation_hours) if escalation == 1 else None
    return [
        ev.DecisionOverdue(
            at=now, trace_number=pending.trace_number, escalation=escalation, next_due=later
        )
    ]


def _inquiry_due(state: Episode, now: datetime) -> list[ev.Event]:
    """§8: ask a Da Vinci PAS payer again about its pend; the last inquiry is at the deadline."""
    pending = state.pending
    if pending is None or pending.inquire_until is None:
        raise Rejected("stale_deadline", "no pended request is waiting for an inquiry")
    step = timedelta(minutes=state.policy.inquiry_interval_minutes)
    until = pending.inquire_until
    next_due = min(now + step, until) if now < until else None
    return [
        ev.PayerInquired(
            at=now,
            trace_number=pending.trace_number,
            purpose=pending.purpose,
            inquiry=pending.inquiries + 1,
            units=pending.units,
            next_due=next_due,
        )
    ]


def _info_due(state: Episode, now: datetime) -> list[ev.Event]:
    assert state.pending is not None
    return [ev.InformationOverdue(at=now, trace_number=state.pending.trace_number)]


def _p2p_window(state: Episode, now: datetime) -> list[ev.Event]:
    return [ev.P2PWindowClosed(at=now)]


def _p2p_outcome(state: Episode, now: datetime) -> list[ev.Event]:
    missed = state.p2p_missed_calls + 1
    if missed >= state.policy.p2p_max_missed_calls:
        # §4: a P2P counts as held (the denial upheld) after two missed call windows.
        return [p2p_decided(state, "upheld", now, deemed=True, notes=f"{missed} calls missed")]
    return [ev.P2PCallMissed(at=now, missed_calls=missed)]


def _appeal_filing(state: Episode, now: datetime) -> list[ev.Event]:
    final = [ev.DenialFinal(at=now)]
    return final + close_if_done(fold(final, state), now)


def _appeal_decision(state: Episode, now: datetime) -> list[ev.Event]:
    return [ev.AppealDecisionOverdue(at=now)]


def _review(state: Episode, now: datetime) -> list[ev.Event]:
    return [extension_request(state, now, "concurrent review is due before the authorization ends")]


def _authorization_end(state: Episode, now: datetime) -> list[ev.Event]:
    ended: list[ev.Event] = [
        ev.AuthorizationEnded(at=now, number=a.number, status="expired")
        for a in live_authorizations(state)
        if ends_at(a) <= now
    ]
    if not ended:
        raise Rejected("stale_deadline", "no live authorization ends now")
    return ended


_RULES: dict[DeadlineKind, ClockRule] = {
    "payer_decision_due": _decision_due,
    "info_response_due": _info_due,
    "payer_inquiry_due": _inquiry_due,
    "p2p_window_closes": _p2p_window,
    "p2p_outcome_due": _p2p_outcome,
    "appeal_filing_due": _appeal_filing,
    "appeal_decision_due": _appeal_decision,
    "concurrent_review_due": _review,
    "authorization_ends": _authorization_end,
}

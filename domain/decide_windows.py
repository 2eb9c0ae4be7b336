"""The payer's notice that it extends a decision window: the deadline moves (§3, §4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain.commands import ExtendDecision
from domain.errors import Rejected
from domain.guards import require_active
from domain.state import Episode


def extend_decision(state: Episode, cmd: ExtendDecision, now: datetime) -> list[ev.Event]:
    """An extension notice is a decision about time, never a denial: it moves the deadline by
    at most the policy's days, counted from the current deadline (not from the notice), once,
    and only while the window is still open (notice comes before the time runs out)."""
    require_active(state)
    if cmd.scope == "appeal":
        return _extend_appeal(state, cmd, now)
    pending = state.pending
    if pending is None or pending.purpose == "reversal" or pending.awaiting_information:
        raise Rejected("invalid_state", "no payer decision is being waited for to extend")
    allowed = state.policy.decision_extension_days
    days = _days(cmd, allowed, "decision", pending.extended)
    due = state.deadlines.get("payer_decision_due")
    if due is None or pending.escalations or now >= pending.decision_due:
        raise Rejected(
            "window_closed",
            f"the decision was due {pending.decision_due.isoformat()}; an extension needs "
            "notice before the window closes — escalate instead",
        )
    new_due = pending.decision_due + timedelta(days=days)
    return [
        ev.DecisionExtended(at=now, scope="decision", days=days, due=new_due, reason=cmd.reason)
    ]


def _extend_appeal(state: Episode, cmd: ExtendDecision, now: datetime) -> list[ev.Event]:
    due = state.deadlines.get("appeal_decision_due")
    if state.status != "appeal" or due is None:
        raise Rejected("invalid_state", "no appeal decision is being waited for to extend")
    days = _days(cmd, state.policy.appeal_extension_days, "appeal", state.appeal_extended)
    if now >= due:
        raise Rejected("window_closed", f"the appeal decision was due {due.isoformat()}")
    new_due = due + timedelta(days=days)
    return [ev.DecisionExtended(at=now, scope="appeal", days=days, due=new_due, reason=cmd.reason)]


def _days(cmd: ExtendDecision, allowed: int, what: str, already: bool) -> int:
    if allowed <= 0:
        raise Rejected("invalid_input", f"this payer's policy allows no {what} extension")
    if already:
        raise Rejected("invalid_state", f"the {what} window was already extended once")
    days = cmd.days if cmd.days is not None else allowed
    if days > allowed:
        raise Rejected(
            "invalid_input", f"the {what} window may be extended by at most {allowed} days"
        )
    return days

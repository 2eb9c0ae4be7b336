"""Decisions after a denial: peer-to-peer review and appeals (§4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain.claims import close_if_done
from domain.commands import (
    FileAppeal,
    RecordAppealOutcome,
    RecordP2POutcome,
    RequestP2P,
    ScheduleP2P,
)
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_state
from domain.state import Denial, Episode, live_authorizations


def _denial(state: Episode) -> Denial:
    if state.denial is None:
        raise Rejected("invalid_state", "there is no denial to review")
    return state.denial


def request_p2p(state: Episode, cmd: RequestP2P, now: datetime) -> list[ev.Event]:
    require_state(state, ("denied",), "request a peer-to-peer review")
    denial = _denial(state)
    if state.p2p_outcome is not None:
        raise Rejected("invalid_state", f"the peer-to-peer review was already {state.p2p_outcome}")
    if now >= denial.p2p_window_closes:
        raise Rejected(
            "window_closed",
            f"the peer-to-peer window closed at {denial.p2p_window_closes.isoformat()}; "
            "file an appeal instead",
        )
    key = f"{state.trace_numbers[-1]}:p2p"
    return [ev.P2PRequested(at=now, request_key=key, attachments=cmd.attachments)]


def schedule_p2p(state: Episode, cmd: ScheduleP2P, now: datetime) -> list[ev.Event]:
    require_state(state, ("p2p_requested", "p2p_scheduled"), "schedule a peer-to-peer call")
    if cmd.at <= now:
        raise Rejected("invalid_input", "the peer-to-peer call must be scheduled in the future")
    grace = timedelta(hours=state.policy.p2p_outcome_grace_hours)
    return [
        ev.P2PScheduled(at=now, call_at=cmd.at, outcome_due=cmd.at + grace, reviewer=cmd.reviewer)
    ]


def record_p2p_outcome(state: Episode, cmd: RecordP2POutcome, now: datetime) -> list[ev.Event]:
    require_state(state, ("p2p_scheduled",), "record a peer-to-peer outcome")
    return [p2p_decided(state, cmd.outcome, now, reviewer=cmd.reviewer, notes=cmd.notes)]


def p2p_decided(
    state: Episode,
    outcome: str,
    now: datetime,
    *,
    deemed: bool = False,
    reviewer: str | None = None,
    notes: str | None = None,
) -> ev.P2PDecided:
    denial = _denial(state)
    if outcome == "overturned":
        # §4: Medicaid managed care must authorize within 72 hours of a reversal (42 CFR 438.424).
        due = now + timedelta(hours=state.policy.reversal_authorization_hours)
        return ev.P2PDecided(
            at=now, outcome="overturned", reviewer=reviewer, notes=notes, authorization_due=due
        )
    return ev.P2PDecided(
        at=now,
        outcome="upheld",
        deemed=deemed,
        reviewer=reviewer,
        notes=notes,
        appeal_filing_due=max(denial.appeal_filing_due, now + timedelta(minutes=1)),
    )


# §4 / issue 12: a P2P that is pending, failed or lapsed never takes away the appeal right
# while its window is open; filing the appeal ends the P2P (P2P is refused once an appeal is
# filed).
APPEALABLE = ("denied", "p2p_requested", "p2p_scheduled")


def file_appeal(state: Episode, cmd: FileAppeal, now: datetime) -> list[ev.Event]:
    require_state(state, APPEALABLE, "file an appeal")
    denial = _denial(state)
    if now >= denial.appeal_filing_due:
        raise Rejected(
            "window_closed", f"the appeal window closed at {denial.appeal_filing_due.isoformat()}"
        )
    policy = state.policy
    if cmd.level == "expedited":
        due = now + timedelta(hours=policy.appeal_decision_hours_expedited)
    else:
        due = now + timedelta(days=policy.appeal_decision_days_standard)
    return [ev.AppealFiled(at=now, level=cmd.level, decision_due=due, attachments=cmd.attachments)]


def record_appeal_outcome(
    state: Episode, cmd: RecordAppealOutcome, now: datetime
) -> list[ev.Event]:
    require_state(state, ("appeal",), "record an appeal outcome")
    if cmd.outcome == "overturned":
        due = now + timedelta(hours=state.policy.reversal_authorization_hours)
        return [ev.AppealDecided(at=now, outcome="overturned", authorization_due=due)]
    if live_authorizations(state) or state.discharge is not None:
        # An upheld appeal about an extension leaves the current authorization running to its
        # end date (issue 12); after discharge the episode closes once billing is done.
        decided = [ev.AppealDecided(at=now, outcome="upheld")]
        return decided + close_if_done(fold(decided, state), now)
    return [
        ev.AppealDecided(at=now, outcome="upheld"),
        ev.EpisodeClosed(at=now, reason="appeal upheld: the denial stands"),
    ]

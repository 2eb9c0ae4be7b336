"""Read shapes of an episode: the API's episode view, the list summary and worklist items."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from domain.attendance import (
    MIN_HOURS_PER_WEEK,
    MISSED,
    no_show_fees,
    repeated_missed,
    weekly_hours,
)
from domain.claims import units_summary
from domain.decider import deadlines
from domain.model import Authorization
from domain.state import ClaimRecord, Episode, live_authorizations, open_failures
from domain.timing import ends_at
from domain.views import (
    AttendanceView,
    AuthorizationView,
    ClaimView,
    EpisodeSummary,
    EpisodeView,
    UnitsView,
    WeekView,
    WorklistItem,
    WorklistKind,
)

EXPIRING_SOON = timedelta(days=7)


def _current(state: Episode) -> Authorization | None:
    return max(state.authorizations, key=lambda a: (a.end, a.start), default=None)


def authorization_view(state: Episode, now: datetime) -> AuthorizationView | None:
    auth = _current(state)
    if auth is None:
        return None
    ended = state.ended_authorizations.get(auth.number)
    if ended is None and ends_at(auth) <= now:
        ended = "expired"
    return AuthorizationView(
        number=auth.number,
        start=auth.start,
        end=auth.end,
        units=auth.units,
        unit_type=auth.unit_type,
        service_codes=list(auth.service_codes),
        status=ended or "active",
    )


def claim_views(state: Episode) -> list[ClaimView]:
    return [
        ClaimView(
            claim_id=c.claim_id,
            status=c.status,
            through=c.through,
            claim=c.claim,
            reasons=list(c.reasons),
            dropped=list(c.dropped),
            superseded_by=c.superseded_by,
        )
        for c in state.claims.values()
    ]


def episode_view(state: Episode, now: datetime) -> EpisodeView:
    assert state.opened is not None
    approved, used, remaining = units_summary(state)
    return EpisodeView(
        episode_id=state.episode_id,
        state=state.status,
        payer=state.opened.payer,
        trace_number=state.trace_numbers[-1] if state.trace_numbers else None,
        authorization=authorization_view(state, now),
        units=UnitsView(approved=approved, used=used, remaining=remaining),
        deadlines=deadlines(state),
        claims=claim_views(state),
        version=state.version,
        attendance=attendance_view(state),
    )


def _minimum_hours(state: Episode) -> int | None:
    assert state.opened is not None
    return MIN_HOURS_PER_WEEK.get(state.opened.to_level)


def attendance_view(state: Episode) -> AttendanceView | None:
    if state.schedule is None and not state.attendance:
        return None
    assert state.opened is not None
    entries = list(state.attendance.values())
    minimum = _minimum_hours(state)
    policy = state.policy
    weeks = [
        WeekView(
            week=week,
            hours=hours,
            minimum=minimum,
            below_minimum=minimum is not None and hours < minimum,
        )
        for week, hours in weekly_hours(entries).items()
    ]
    return AttendanceView(
        schedule=state.schedule,
        weeks=weeks,
        attended=sum(1 for e in entries if e.status == "attended"),
        missed=sum(1 for e in entries if e.status in MISSED),
        excused=sum(1 for e in entries if e.status == "excused"),
        no_show_fees=no_show_fees(entries, state.opened.payer.plan_type, policy.no_show_fee),
        repeated_no_shows=_repeated(state),
    )


def _repeated(state: Episode) -> list[date]:
    policy = state.policy
    entries = list(state.attendance.values())
    return repeated_missed(entries, policy.no_show_review_count, policy.no_show_review_days)


def summarize(state: Episode, now: datetime) -> EpisodeSummary:
    assert state.opened is not None
    upcoming = deadlines(state)
    auth = _current(state)
    return EpisodeSummary(
        episode_id=state.episode_id,
        state=state.status,
        payer_id=state.opened.payer.id,
        plan_type=state.opened.payer.plan_type,
        trace_number=state.trace_numbers[-1] if state.trace_numbers else None,
        next_deadline=upcoming[0].due if upcoming else None,
        authorization_end=auth.end if auth else None,
        held_claims=len(state.held_claims),
        version=state.version,
        opened_at=state.opened.at,
        updated_at=now,
        worklist=worklist_items(state, now),
    )


def worklist_items(state: Episode, now: datetime) -> list[WorklistItem]:
    items = _request_items(state) + _denial_items(state) + _coverage_items(state, now)
    items += _failure_items(state)
    missed = _repeated(state)
    if missed:
        detail = (
            f"{len(missed)} missed sessions (no-show or late cancel) from {missed[0]} to "
            f"{missed[-1]}: clinical review with the therapist"
        )
        since = datetime.combine(missed[0], time(), UTC)
        items.append(_item(state, "repeated_no_shows", None, detail, since=since))
    held = state.held_claims
    if held:
        items.append(_held_item(state, held))
    return items


def _held_item(state: Episode, held: list[ClaimRecord]) -> WorklistItem:
    """Held claims wait since their oldest unbilled service, for the charges of their lines."""
    codes = sorted({r.code for c in held for r in c.reasons})
    services = [state.services[s] for c in held for s in c.service_ids if s in state.services]
    oldest = min((s.date for s in services), default=None)
    value = sum((s.charge for s in services), Decimal(0))
    detail = f"{len(held)} claim(s) held: {', '.join(codes)}"
    if services:
        detail += f" — ${value:,.2f} waiting since {oldest}"
    since = datetime.combine(oldest, time(), UTC) if oldest else None
    return _item(state, "claims_held", None, detail, since=since, value=value)


def _item(
    state: Episode,
    kind: str,
    due: datetime | None,
    detail: str,
    since: datetime | None = None,
    value: Decimal | None = None,
) -> WorklistItem:
    return WorklistItem(
        episode_id=state.episode_id, kind=kind, due=due, detail=detail, since=since, value=value
    )


def _request_items(state: Episode) -> list[WorklistItem]:
    p = state.pending
    if p is None:
        return []
    items = []
    if p.escalations:
        detail = (
            f"no payer decision on {p.trace_number}; escalation {p.escalations}: call the payer"
        )
        items.append(_item(state, "payer_decision_overdue", p.decision_due, detail))
    if p.awaiting_information:
        due = state.deadlines.get("info_response_due")
        items.append(
            _item(state, "info_requested", due, f"payer asks for information on {p.trace_number}")
        )
    if p.purpose == "extension" and not p.escalations:
        detail = f"concurrent review {p.trace_number} sent; send updated ASAM documentation"
        items.append(_item(state, "concurrent_review_due", p.decision_due, detail))
    return items


# What ops should do about each kind of failed effect, shown on the worklist item.
_FAILURE_ADVICE = {
    "submit_request": "the payer never got request {key}: check the payer's channel, then retry",
    "request_p2p": "the payer never got the peer-to-peer request: call the payer, or retry",
    "deliver_claim": "claim {key} did not reach the claims outbox or its batch was rejected: "
    "check the batch's 999, then retry (the claim is queued again)",
    "inquire_payer": "an inquiry about pended request {key} did not reach the payer: the next "
    "scheduled inquiry tries again, or retry now",
    "notify": "a staff notification ({kind}) could not be sent; this item replaces it",
}


_FAILURE_KINDS: dict[str, WorklistKind] = {
    "submit_request": "submit_request_failed",
    "request_p2p": "request_p2p_failed",
    "deliver_claim": "deliver_claim_failed",
    "notify": "notify_failed",
    # An inquiry is a payer submission too (DOMAIN §8): the same worklist kind.
    "inquire_payer": "submit_request_failed",
}


def _failure_items(state: Episode) -> list[WorklistItem]:
    items = []
    for failure in open_failures(state):
        advice = _FAILURE_ADVICE[failure.kind].format(
            key=failure.key, kind=failure.detail.get("kind", "")
        )
        detail = f"{advice} ({failure.reason}) [{failure.failure_id}]"
        kind = _FAILURE_KINDS[failure.kind]
        items.append(_item(state, kind, None, detail, since=failure.at))
    return items


def _denial_items(state: Episode) -> list[WorklistItem]:
    d = state.deadlines
    items = _unexplained_denial(state)
    if state.status == "denied" and "p2p_window_closes" in d:
        items.append(
            _item(
                state,
                "p2p_window_closing",
                d["p2p_window_closes"],
                "denied: request a peer-to-peer review",
            )
        )
    if state.status == "p2p_scheduled" and state.p2p_call_at is not None:
        items.append(
            _item(state, "p2p_scheduled", state.p2p_call_at, "peer-to-peer call scheduled")
        )
    if state.status == "denied" and "p2p_window_closes" not in d and "appeal_filing_due" in d:
        items.append(
            _item(
                state,
                "appeal_due",
                d["appeal_filing_due"],
                "file an appeal before the window closes",
            )
        )
    if state.status == "appeal" and "appeal_decision_due" in d:
        items.append(_item(state, "appeal_due", d["appeal_decision_due"], "appeal decision due"))
    return items


def _unexplained_denial(state: Episode) -> list[WorklistItem]:
    """§3: a denial carries a specific reason; one without is accepted but flagged to ops."""
    denial = state.denial
    if denial is None or denial.deemed or denial.reason or denial.reason_code:
        return []
    detail = "denial without reason — request it in writing"
    return [_item(state, "denial_without_reason", denial.appeal_filing_due, detail)]


def _coverage_items(state: Episode, now: datetime) -> list[WorklistItem]:
    if state.status not in ("authorized", "expired"):
        return []
    extension_pending = state.pending is not None and state.pending.purpose == "extension"
    if extension_pending:
        return []
    live = live_authorizations(state)
    if not live:
        return [
            _item(
                state,
                "authorization_expiring",
                None,
                "authorization ended while the patient attends",
            )
        ]
    auth = max(live, key=lambda a: a.end)
    if ends_at(auth) - now <= EXPIRING_SOON:
        return [
            _item(state, "authorization_expiring", ends_at(auth), f"{auth.number} ends {auth.end}")
        ]
    return []

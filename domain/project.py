"""Read shapes of an episode: the API's episode view, the list summary and worklist items."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.claims import units_summary
from domain.decider import deadlines
from domain.model import Authorization
from domain.state import Episode, live_authorizations
from domain.timing import ends_at
from domain.views import (
    AuthorizationView,
    ClaimView,
    EpisodeSummary,
    EpisodeView,
    UnitsView,
    WorklistItem,
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
    )


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
    held = state.held_claims
    if held:
        codes = sorted({r.code for c in held for r in c.reasons})
        detail = f"{len(held)} claim(s) held: {', '.join(codes)}"
        items.append(_item(state, "claims_held", None, detail))
    return items


def _item(state: Episode, kind: str, due: datetime | None, detail: str) -> WorklistItem:
    return WorklistItem(episode_id=state.episode_id, kind=kind, due=due, detail=detail)


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


def _denial_items(state: Episode) -> list[WorklistItem]:
    d = state.deadlines
    items = []
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

"""The worklist page: what needs a person, most urgent first, filtered by kind and payer."""

from __future__ import annotations

import re
from datetime import datetime
from typing import get_args

from api.console.fields import select
from api.console.page import csrf_input, esc
from api.console.session import Session
from api.console.when import due_html, is_overdue
from domain.views import EpisodeSummary, WorklistItem, WorklistKind

KINDS: tuple[str, ...] = get_args(WorklistKind)
KIND_LABELS = {
    "payer_decision_overdue": "Payer decision overdue",
    "info_requested": "Information requested",
    "p2p_window_closing": "P2P window closing",
    "p2p_scheduled": "P2P call scheduled",
    "appeal_due": "Appeal due",
    "concurrent_review_due": "Concurrent review due",
    "authorization_expiring": "Authorization expiring",
    "claims_held": "Claims held",
    "webhook_unmatched": "Unmatched payer webhook",
    "submit_request_failed": "Payer submission failed",
    "request_p2p_failed": "P2P request failed",
    "deliver_claim_failed": "Claim delivery failed",
    "notify_failed": "Notification not sent",
    "workflow_stuck": "Episode workflow stuck",
    "denial_without_reason": "Denial without reason",
    "repeated_no_shows": "Repeated no-shows",
}
PAYER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def clean_kind(kind: str | None) -> str | None:
    return kind if kind in KINDS else None


def clean_payer(payer: str | None) -> str | None:
    return payer if payer and PAYER_ID.match(payer) else None


def filters_form(kind: str | None, payer: str | None, payers: list[str]) -> str:
    kinds = [("", "All kinds"), *((k, KIND_LABELS[k]) for k in KINDS)]
    payer_options = [("", "All payers"), *((p, p) for p in payers)]
    return (
        '<form class="filters" method="get" action="/console" role="search">'
        f'<div><label for="kind">Kind</label>{select("kind", kinds, kind or "")}</div>'
        f'<div><label for="payer">Payer</label>{select("payer", payer_options, payer or "")}</div>'
        '<div><button type="submit">Filter</button></div>'
        '<div><a href="/console">Clear filters</a></div></form>'
    )


def assign_form(item: WorklistItem, session: Session | None) -> str:
    """For an unmatched delivery: the episode it answers, as ops judge it (audited)."""
    if session is None or item.delivery_id is None or item.delivery_payer_id is None:
        return '<span class="muted">none matched</span>'
    action = f"/console/deliveries/{esc(item.delivery_payer_id)}/{esc(item.delivery_id)}/assign"
    field = f"assign-{esc(item.delivery_id)}"
    return (
        f'<form class="assign" method="post" action="{action}">{csrf_input(session)}'
        f'<label for="{field}">Assign to episode</label>'
        f'<input id="{field}" name="episode_id" required maxlength="64">'
        '<button type="submit">Assign</button></form>'
    )


def item_row(
    item: WorklistItem,
    summary: EpisodeSummary | None,
    now: datetime,
    session: Session | None = None,
) -> str:
    overdue = is_overdue(item.due, now)
    css = ' class="overdue"' if overdue else ""
    if item.episode_id:
        episode = f'<a href="/console/episodes/{esc(item.episode_id)}">{esc(item.episode_id)}</a>'
    else:
        episode = assign_form(item, session)
    payer = esc(summary.payer_id) if summary else ""
    state = esc(summary.state.replace("_", " ")) if summary else ""
    return (
        f"<tr{css}><td>{due_html(item.due, now)}</td>"
        f"<td>{esc(KIND_LABELS.get(item.kind, item.kind))}</td>"
        f"<td>{episode}</td><td>{payer}</td><td>{state}</td><td>{esc(item.detail)}</td></tr>"
    )


def worklist_body(
    items: list[WorklistItem],
    summaries: dict[str, EpisodeSummary],
    payers: list[str],
    kind: str | None,
    payer: str | None,
    now: datetime,
    session: Session | None = None,
) -> str:
    overdue = sum(1 for i in items if is_overdue(i.due, now))
    counts = f"{len(items)} item(s)" + (
        f', <span class="overdue-text">{overdue} overdue</span>' if overdue else ""
    )
    rows = "".join(item_row(i, summaries.get(i.episode_id), now, session) for i in items)
    table = (
        '<table class="worklist" aria-describedby="wl-count"><thead><tr><th>Due</th><th>What</th>'
        "<th>Episode</th><th>Payer</th><th>State</th><th>Detail</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">Nothing needs a person right now.</p>'
    )
    return (
        f'<h1>Worklist</h1><p id="wl-count" class="muted">{counts}, most urgent first</p>'
        f'{filters_form(kind, payer, payers)}<div class="card">{table}</div>'
    )

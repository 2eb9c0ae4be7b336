"""The worklist page: who needs what, most urgent first, filtered by kind and payer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args
from zoneinfo import ZoneInfo

from api.console.templates import render_template
from api.console.when import is_overdue, local_due_html, waiting_html
from domain.views import EpisodeSummary, WorklistItem, WorklistKind
from store.ports import PatientLabel


@dataclass(frozen=True)
class Worklist:
    """What the worklist page shows: the items, their episodes' summaries and patients."""

    items: list[WorklistItem]
    summaries: dict[str, EpisodeSummary]
    patients: dict[str, PatientLabel]
    payers: list[str]
    # Episode id -> the owner's display name (PUT /episodes/{id}/owner).
    owners: dict[str, str] = field(default_factory=dict)


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
    "repeated_no_shows": "Repeated no-shows",
    "denial_without_reason": "Denial without reason",
    "workflow_stuck": "Episode workflow stuck",
    "notify_failed": "Notification not sent",
    "deliver_claim_failed": "Claim delivery failed",
    "request_p2p_failed": "P2P request failed",
    "submit_request_failed": "Payer submission failed",
}
PAYER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def clean_kind(kind: str | None) -> str | None:
    return kind if kind in KINDS else None


def clean_payer(payer: str | None) -> str | None:
    return payer if payer and PAYER_ID.match(payer) else None


@dataclass(frozen=True)
class Row:
    episode_id: str
    patient: PatientLabel | None
    what: str
    detail: str
    due: str  # trusted HTML of when.local_due_html
    overdue: bool
    payer: str
    state: str
    owner: str
    # An unmatched delivery ops may assign to an episode (issue 14), else None.
    delivery_id: str | None = None
    delivery_payer_id: str | None = None


def _row(
    item: WorklistItem,
    summary: EpisodeSummary | None,
    patient: PatientLabel | None,
    now: datetime,
    zone: ZoneInfo,
    owner: str = "",
) -> Row:
    return Row(
        episode_id=item.episode_id,
        patient=patient,
        what=KIND_LABELS.get(item.kind, item.kind),
        detail=item.detail,
        due=_due_html(item, now, zone),
        overdue=is_overdue(item.due, now),
        payer=summary.payer_id if summary else "",
        state=summary.state.replace("_", " ") if summary else "",
        owner=owner,
        delivery_id=item.delivery_id,
        delivery_payer_id=item.delivery_payer_id,
    )


def _due_html(item: WorklistItem, now: datetime, zone: ZoneInfo) -> str:
    """The due time; for an undated item, how long it has waited (what ranks it)."""
    if item.due is not None or item.since is None:
        return local_due_html(item.due, now, zone)
    return waiting_html(item.since, now)


# Sortable columns: the key of each (ties keep the urgency order, which is the default).
SORTS: dict[str, Callable[[Row], tuple[bool, str]]] = {
    "patient": lambda r: (r.patient is None, r.patient.name.casefold() if r.patient else ""),
    "what": lambda r: (False, r.what),
    "payer": lambda r: (not r.payer, r.payer),
    "state": lambda r: (not r.state, r.state),
    "owner": lambda r: (not r.owner, r.owner.casefold()),
}
COLUMNS = (
    ("patient", "Patient"),
    ("what", "What is due"),
    ("due", "Due"),
    ("payer", "Payer"),
    ("", "Episode"),
    ("state", "State"),
    ("owner", "Owner"),
)


def clean_sort(sort: str | None) -> str:
    return sort if sort in SORTS else "due"


def worklist_body(
    data: Worklist,
    kind: str | None,
    payer: str | None,
    now: datetime,
    zone: str,
    mine: bool = False,
    sort: str = "due",
    csrf: str | None = None,
) -> str:
    """Patient first: who, what is due, when (relative and exact local time), payer, episode."""
    tz = ZoneInfo(zone)
    rows = [
        _row(
            i,
            data.summaries.get(i.episode_id),
            data.patients.get(i.episode_id),
            now,
            tz,
            data.owners.get(i.episode_id, ""),
        )
        for i in data.items
    ]
    if sort in SORTS:
        rows.sort(key=SORTS[sort])  # stable: equal keys stay most urgent first
    kinds = [("", "All kinds"), *((k, KIND_LABELS[k]) for k in KINDS)]
    return render_template(
        "worklist.html",
        rows=rows,
        overdue=sum(1 for r in rows if r.overdue),
        kinds=kinds,
        kind=kind,
        payers=data.payers,
        payer=payer,
        zone=zone,
        mine=mine,
        sort=sort,
        columns=COLUMNS,
        csrf=csrf,
    )

"""The summary report: per payer and plan type, what was asked, decided, overturned, billed.

A pure fold over projected events (the read model's), so the same numbers come from any
store. A period counts what happened in it: requests sent, decisions received, claims
released or held; the hours from request to decision reach back to a request sent earlier.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from domain import events as ev
from domain.views import StoredEvent

PARTIAL_ACTIONS = ("A2", "A6")  # X12 306: certified partial, modified
# The events the report reads; a store hands over only these.
REPORT_EVENTS = frozenset(
    {
        "authorization_requested",
        "authorization_granted",
        "authorization_denied",
        "decision_overdue",
        "p2p_decided",
        "appeal_decided",
        "appeal_decision_overdue",
        "services_recorded",
        "claim_released",
        "claim_held",
    }
)


@dataclass(frozen=True)
class PayerEvent:
    """One projected event with the payer of its episode."""

    episode_id: str
    payer_id: str
    plan_type: str
    event: StoredEvent


class HeldReason(BaseModel):
    claims: int = 0
    charges: Decimal = Decimal("0")


class PayerReport(BaseModel):
    payer_id: str
    plan_type: str
    requests: int = 0
    approvals: int = 0
    partial_approvals: int = 0
    denials: int = 0
    denial_rate: float | None = None
    p2p_decided: int = 0
    p2p_overturned: int = 0
    p2p_overturn_rate: float | None = None
    appeals_decided: int = 0
    appeals_overturned: int = 0
    appeal_overturn_rate: float | None = None
    decision_hours_median: float | None = None
    decision_hours_p90: float | None = None
    deadlines_missed: int = 0
    units_approved: int = 0
    units_used: int = 0
    claims_released: int = 0
    released_charges: Decimal = Decimal("0")
    claims_held: int = 0
    held_charges: Decimal = Decimal("0")
    held_by_reason: dict[str, HeldReason] = {}


class SummaryReport(BaseModel):
    start: datetime
    end: datetime
    payers: list[PayerReport]
    total: PayerReport


@dataclass
class _Tally:
    """Running counts of one payer; `held` maps claim id to its last hold in the period."""

    report: PayerReport
    hours: list[float] = field(default_factory=list)
    held: dict[str, ev.ClaimHeld] = field(default_factory=dict)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 2)  # nearest rank


def typed(stored: StoredEvent) -> ev.Event:
    return ev.EVENT_ADAPTER.validate_python({**stored.data, "type": stored.type, "at": stored.at})


def summary_report(rows: Iterable[PayerEvent], start: datetime, end: datetime) -> SummaryReport:
    """The report of [start, end) from every event of the episodes concerned (earlier ones too:
    they carry the requests a decision answers and the charges of held lines)."""
    tallies: dict[tuple[str, str], _Tally] = {}
    requested: dict[tuple[str, str], datetime] = {}
    charges: dict[tuple[str, str], Decimal] = {}
    ordered = sorted(rows, key=lambda r: (r.event.at, r.episode_id, r.event.seq))
    for row in ordered:
        event = typed(row.event)
        _remember(row.episode_id, event, requested, charges)
        if not start <= event.at < end:
            continue
        key = (row.payer_id, row.plan_type)
        tally = tallies.setdefault(key, _Tally(PayerReport(payer_id=key[0], plan_type=key[1])))
        _count(tally, row.episode_id, event, requested)
    payers = [_finish(t, charges) for _, t in sorted(tallies.items())]
    return SummaryReport(start=start, end=end, payers=payers, total=_total(payers))


def _remember(
    episode_id: str,
    event: ev.Event,
    requested: dict[tuple[str, str], datetime],
    charges: dict[tuple[str, str], Decimal],
) -> None:
    if isinstance(event, ev.AuthorizationRequested):
        requested[(episode_id, event.trace_number)] = event.at
    elif isinstance(event, ev.ServicesRecorded):
        for service in event.services:
            charges[(episode_id, service.service_id)] = service.charge


def _count(
    tally: _Tally, episode_id: str, event: ev.Event, requested: dict[tuple[str, str], datetime]
) -> None:
    r = tally.report
    if isinstance(event, ev.AuthorizationRequested):
        r.requests += 1
    elif isinstance(event, ev.AuthorizationGranted):
        partial = event.action in PARTIAL_ACTIONS or (
            event.authorization.units < event.requested_units
        )
        r.partial_approvals += partial
        r.approvals += not partial
        r.units_approved += event.authorization.units
        _hours(tally, requested.get((episode_id, event.trace_number)), event.at)
    elif isinstance(event, ev.AuthorizationDenied):
        r.denials += 1
        if not event.deemed:  # a deemed denial is the clock's, not a payer's answer
            _hours(tally, requested.get((episode_id, event.trace_number)), event.at)
    elif isinstance(event, ev.P2PDecided):
        r.p2p_decided += 1
        r.p2p_overturned += event.outcome == "overturned"
    elif isinstance(event, ev.AppealDecided):
        r.appeals_decided += 1
        r.appeals_overturned += event.outcome == "overturned"
    elif isinstance(event, ev.DecisionOverdue) and event.escalation == 1:
        r.deadlines_missed += 1  # later escalations are the same missed deadline
    elif isinstance(event, ev.AppealDecisionOverdue):
        r.deadlines_missed += 1
    elif isinstance(event, ev.ClaimReleased):
        r.claims_released += 1
        r.released_charges += sum((line.charge for line in event.claim.lines), Decimal("0"))
        r.units_used += sum(line.units for line in event.claim.lines)
        tally.held.pop(f"{episode_id}/{event.claim_id}", None)
    elif isinstance(event, ev.ClaimHeld):
        tally.held[f"{episode_id}/{event.claim_id}"] = event


def _hours(tally: _Tally, asked: datetime | None, answered: datetime) -> None:
    if asked is not None:
        tally.hours.append((answered - asked).total_seconds() / 3600)


def _finish(tally: _Tally, charges: dict[tuple[str, str], Decimal]) -> PayerReport:
    """Rates, hour statistics, and the claims still held at the end of the period."""
    r = tally.report
    r.denial_rate = _rate(r.denials, r.approvals + r.partial_approvals + r.denials)
    r.p2p_overturn_rate = _rate(r.p2p_overturned, r.p2p_decided)
    r.appeal_overturn_rate = _rate(r.appeals_overturned, r.appeals_decided)
    if tally.hours:
        r.decision_hours_median = round(statistics.median(tally.hours), 2)
        r.decision_hours_p90 = _p90(tally.hours)
    by_reason: defaultdict[str, HeldReason] = defaultdict(HeldReason)
    for key, held in tally.held.items():
        episode_id = key.split("/", 1)[0]
        line_charges = {s: charges.get((episode_id, s), Decimal("0")) for s in held.service_ids}
        r.claims_held += 1
        r.held_charges += sum(line_charges.values(), Decimal("0"))
        for reason in held.reasons:
            by_reason[reason.code].claims += 1
            by_reason[reason.code].charges += sum(
                (line_charges.get(s, Decimal("0")) for s in reason.lines), Decimal("0")
            )
    r.held_by_reason = dict(sorted(by_reason.items()))
    return r


def _total(payers: list[PayerReport]) -> PayerReport:
    total = PayerReport(payer_id="all", plan_type="all")
    counted = [
        "requests",
        "approvals",
        "partial_approvals",
        "denials",
        "p2p_decided",
        "p2p_overturned",
        "appeals_decided",
        "appeals_overturned",
        "deadlines_missed",
        "units_approved",
        "units_used",
        "claims_released",
        "claims_held",
    ]
    for p in payers:
        for name in counted:
            setattr(total, name, getattr(total, name) + getattr(p, name))
        total.released_charges += p.released_charges
        total.held_charges += p.held_charges
    total.denial_rate = _rate(
        total.denials, total.approvals + total.partial_approvals + total.denials
    )
    total.p2p_overturn_rate = _rate(total.p2p_overturned, total.p2p_decided)
    total.appeal_overturn_rate = _rate(total.appeals_overturned, total.appeals_decided)
    return total

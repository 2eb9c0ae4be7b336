"""The timeline of domain events: who (payer, clock, people) did what, in words, newest last."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from api.console.templates import ENV
from api.console.when import at_html
from domain.views import StoredEvent

Data = dict[str, Any]

WHO: dict[str, str] = {
    "episode_opened": "intake",
    "authorization_requested": "stepdown",
    "decision_overdue": "clock",
    "information_requested": "payer",
    "information_overdue": "clock",
    "payer_inquired": "clock",
    "information_provided": "intake",
    "authorization_granted": "payer",
    "authorization_denied": "payer",
    "payer_notice": "payer",
    "request_cancelled_by_payer": "payer",
    "p2p_requested": "ops",
    "p2p_scheduled": "ops",
    "p2p_call_missed": "clock",
    "p2p_decided": "ops",
    "p2p_window_closed": "clock",
    "appeal_filed": "ops",
    "appeal_decision_overdue": "clock",
    "appeal_decided": "ops",
    "denial_final": "clock",
    "authorization_ended": "clock",
    "services_recorded": "billing",
    "claim_released": "billing",
    "claim_held": "billing",
    "discharged": "intake",
    "episode_closed": "stepdown",
    "episode_cancelled": "intake",
}


def _opened(d: Data) -> str:
    req = d.get("requested") or {}
    return (
        f"Opened: step-down {d.get('from_level')} → {d.get('to_level')}, "
        f"{req.get('units')} {req.get('unit_type')} requested from {req.get('start')}"
    )


def _requested(d: Data) -> str:
    return (
        f"{str(d.get('purpose', '')).capitalize()} authorization request {d.get('trace_number')} "
        f"for {d.get('units')} units sent; decision due {_day(d.get('decision_due'))}"
    )


def _granted(d: Data) -> str:
    auth = d.get("authorization") or {}
    return (
        f"Approved ({d.get('action')}): {auth.get('number')}, {auth.get('units')} "
        f"{auth.get('unit_type')} {auth.get('start')} to {auth.get('end')}"
    )


def _denied(d: Data) -> str:
    why = d.get("reason") or d.get("reason_code") or "no reason given"
    deemed = " (deemed: no answer in time)" if d.get("deemed") else ""
    return f"Denied{deemed}: {why}; P2P window closes {_day(d.get('p2p_window_closes'))}"


def _p2p_decided(d: Data) -> str:
    by = f" by {d['reviewer']}" if d.get("reviewer") else ""
    return f"Peer-to-peer {d.get('outcome')}{by}" + (" (deemed)" if d.get("deemed") else "")


def _claim_held(d: Data) -> str:
    reasons = "; ".join(f"{r.get('code')}: {r.get('detail')}" for r in d.get("reasons") or [])
    return f"Claim {d.get('claim_id')} through {d.get('through')} held — {reasons}"


def _claim_released(d: Data) -> str:
    claim = d.get("claim") or {}
    lines = len(claim.get("lines") or [])
    was = " (was held)" if d.get("was_held") else ""
    return (
        f"Claim {d.get('claim_id')} released{was}: TOB {claim.get('type_of_bill')}, {lines} line(s)"
    )


WHAT: dict[str, Callable[[Data], str]] = {
    "episode_opened": _opened,
    "authorization_requested": _requested,
    "decision_overdue": lambda d: (
        f"No payer decision on {d.get('trace_number')}: escalation {d.get('escalation')}"
    ),
    "information_requested": lambda d: (
        "Payer asks for information: "
        f"{d.get('reason') or 'see payer portal'}; respond by {_day(d.get('respond_by'))}"
    ),
    "information_overdue": lambda d: "Information for the payer is overdue",
    "payer_inquired": lambda d: f"Asked the payer about its pend ($inquire {d.get('inquiry')})",
    "information_provided": lambda d: (
        f"Information sent to the payer: {d.get('note')}{_attached(d)}"
    ),
    "authorization_granted": _granted,
    "authorization_denied": _denied,
    "payer_notice": lambda d: f"Payer notice ({d.get('action')}): {d.get('reason') or '—'}",
    "request_cancelled_by_payer": lambda d: f"Payer cancelled the request: {d.get('reason')}",
    "p2p_requested": lambda d: f"Peer-to-peer review requested{_attached(d)}",
    "p2p_scheduled": lambda d: (
        f"Peer-to-peer call scheduled for {_minute(d.get('call_at'))}"
        + (f" with {d['reviewer']}" if d.get("reviewer") else "")
    ),
    "p2p_call_missed": lambda d: f"Peer-to-peer call missed ({d.get('missed_calls')})",
    "p2p_decided": _p2p_decided,
    "p2p_window_closed": lambda d: "The peer-to-peer window closed",
    "appeal_filed": lambda d: (
        f"{str(d.get('level')).capitalize()} appeal filed{_attached(d)}; "
        f"decision due {_day(d.get('decision_due'))}"
    ),
    "appeal_decision_overdue": lambda d: "The appeal decision is overdue",
    "appeal_decided": lambda d: f"Appeal {d.get('outcome')}",
    "denial_final": lambda d: "The appeal window closed: the denial is final",
    "authorization_ended": lambda d: f"Authorization {d.get('number')} {d.get('status')}",
    "services_recorded": lambda d: f"{len(d.get('services') or [])} service(s) recorded",
    "claim_released": _claim_released,
    "claim_held": _claim_held,
    "discharged": lambda d: (
        f"Discharged on {d.get('date')} ({d.get('disposition')}, status {d.get('patient_status')})"
    ),
    "episode_closed": lambda d: f"Closed: {d.get('reason')}",
    "episode_cancelled": lambda d: f"Cancelled: {d.get('reason')}",
}


def _attached(d: Data) -> str:
    count = len(d.get("attachments") or [])
    return f" with {count} attachment{'s' if count != 1 else ''}" if count else ""


def _day(value: Any) -> str:
    return str(value)[:10] if value else "—"


def _minute(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "—"


def describe(event: StoredEvent) -> str:
    what = WHAT.get(event.type)
    return what(event.data) if what else event.type.replace("_", " ").capitalize()


def who(event: StoredEvent) -> tuple[str, str]:
    """The person whose command produced the event (name and role; id), else who it must be.

    Events recorded before people had identities carry no actor: their role is inferred
    from the event type, as it was before.
    """
    actor = event.data.get("actor")
    if not isinstance(actor, dict) or not actor.get("id"):
        return WHO.get(event.type, "stepdown"), ""
    name, role = actor.get("name"), actor.get("role")
    return (f"{name} ({role})" if name else str(role)), str(actor.get("id"))


def timeline_html(events: list[StoredEvent], now: datetime) -> str:
    rows = []
    for event in events:
        label, actor = who(event)
        at = at_html(event.at, now)
        rows.append(
            {"seq": event.seq, "at": at, "who": label, "actor": actor, "what": describe(event)}
        )
    return str(ENV.get_template("episode_cards.html").module.timeline(rows))

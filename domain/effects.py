"""Effects: what the world must be told after events, derived from the events alone."""

from __future__ import annotations

from typing import Any, Literal

from domain import events as ev
from domain.model import Frozen


class Effect(Frozen):
    kind: Literal["submit_request", "request_p2p", "deliver_claim", "notify", "inquire_payer"]
    key: str
    detail: dict[str, Any] = {}
    # 0 for the first try; a retry ops asked for counts up, so the payer sees a new
    # idempotency key and the notifier a new message.
    attempt: int = 0


def _submit(e: ev.AuthorizationRequested) -> Effect:
    return Effect(
        kind="submit_request",
        key=e.trace_number,
        detail={
            "trace_number": e.trace_number,
            "purpose": e.purpose,
            "units": e.units,
            **({"attendance": list(e.attendance)} if e.attendance else {}),
            **(
                {"attendance_summary": e.attendance_summary.model_dump(mode="json")}
                if e.attendance_summary is not None
                else {}
            ),
        },
    )


def _notify(kind: str, text: str, key: str) -> Effect:
    return Effect(kind="notify", key=key, detail={"kind": kind, "detail": text})


def effects_of(event: ev.Event, seq: int) -> list[Effect]:
    """`seq` is the event's sequence number; it keys notifications so a retry sends one."""
    key = f"{seq}"
    match event:
        case ev.AuthorizationRequested():
            return [_submit(event)]
        case ev.PayerInquired():
            detail = {
                "trace_number": event.trace_number,
                "purpose": event.purpose,
                "units": event.units,
                "inquiry": event.inquiry,
            }
            key = f"{event.trace_number}:{event.inquiry}"
            return [Effect(kind="inquire_payer", key=key, detail=detail)]
        case ev.P2PRequested():
            # The attachments go with the request (ids; the gateway reads their bytes).
            attached = {"attachments": list(event.attachments)} if event.attachments else {}
            return [Effect(kind="request_p2p", key=event.request_key, detail=attached)]
        case ev.ClaimReleased():
            claim = event.claim.model_dump(mode="json", by_alias=True)
            return [Effect(kind="deliver_claim", key=event.claim_id, detail={"claim": claim})]
        case ev.DecisionOverdue():
            return [_notify("payer_decision_overdue", f"escalation {event.escalation}", key)]
        case ev.AuthorizationDenied():
            return [_notify("denied", event.reason or "denied", key)]
        case ev.InformationRequested():
            return [_notify("info_requested", event.reason or "payer asks for information", key)]
        case ev.ClaimHeld():
            codes = ", ".join(r.code for r in event.reasons)
            return [_notify("claims_held", f"claim {event.claim_id} held: {codes}", key)]
        case ev.AuthorizationEnded():
            return [_notify("authorization_ended", f"{event.number} {event.status}", key)]
        case ev.PayerNotice():
            return [_notify("payer_notice", f"{event.action}: {event.reason or ''}", key)]
        case ev.SubmissionFailed():
            text = f"{event.purpose} submission {event.key} failed: {event.reason}"
            return [_notify("submission_failed", text, key)]
        case ev.ClaimDeliveryFailed():
            return [_notify("claim_delivery_failed", f"claim {event.key}: {event.reason}", key)]
        case ev.EffectRetried():
            # A dropped notification is not sent again: the worklist already showed it.
            if event.kind == "notify":
                return []
            return [
                Effect(kind=event.kind, key=event.key, detail=event.detail, attempt=event.attempt)
            ]
        case _:
            return []

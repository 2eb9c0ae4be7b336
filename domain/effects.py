"""Effects: what the world must be told after events, derived from the events alone.

Each kind of effect is its own frozen class, told apart by `kind`. Effects travel in Temporal
payloads (the effects a run carries across continue-as-new), and releases before these
classes wrote one as `{"kind", "key", "detail": {...}, "attempt"}` with its facts in the
`detail` dict. Each class reads that shape (the facts lifted out of `detail`) as well as its
own fields, and still writes that shape: a run continued as new by this release stays
readable by a worker of the release before it (a rolling upgrade, a rollback), and recorded
histories replay unchanged. Failure events keep the same `detail` (`as_detail`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, TypeAdapter, model_serializer, model_validator

from domain import events as ev
from domain.attendance import AttendanceSummary
from domain.model import Frozen

# What every effect has in the written shape besides its `detail`.
_HEAD = frozenset({"kind", "key", "attempt"})


class EffectBase(Frozen):
    kind: ev.EffectKind
    key: str
    # 0 for the first try; a retry ops asked for counts up, so the payer sees a new
    # idempotency key and the notifier a new message.
    attempt: int = 0

    # Names of facts in the written `detail` that differ from the field's name.
    _RENAMED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _lift_detail(cls, data: Any) -> Any:
        """The written shape: facts come out of `detail`; one this class does not know is
        dropped, as earlier releases never read it either."""
        if not isinstance(data, dict) or not isinstance(data.get("detail"), dict):
            return data
        named = {cls._RENAMED.get(name, name): v for name, v in data["detail"].items()}
        facts = {k: v for k, v in named.items() if k in cls.model_fields and k not in _HEAD}
        return {**{k: v for k, v in data.items() if k != "detail"}, **facts}

    @model_serializer(mode="plain")
    def _written(self) -> dict[str, Any]:
        detail = self.as_detail()
        return {"kind": self.kind, "key": self.key, "detail": detail, "attempt": self.attempt}

    def as_detail(self) -> dict[str, Any]:
        """The facts as the written `detail` (JSON values) that a failure event records."""
        raise NotImplementedError


class SubmitRequest(EffectBase):
    """An authorization request to the payer; `key` is its trace number."""

    kind: Literal["submit_request"] = "submit_request"
    purpose: ev.RequestPurpose
    units: int
    # Weeks attended below the level's minimum and the extension's attendance evidence.
    attendance: tuple[str, ...] = ()
    attendance_summary: AttendanceSummary | None = None

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "trace_number": self.key,
            "purpose": self.purpose,
            "units": self.units,
        }
        if self.attendance:
            detail["attendance"] = list(self.attendance)
        if self.attendance_summary is not None:
            detail["attendance_summary"] = self.attendance_summary.model_dump(mode="json")
        return detail


class InquirePayer(EffectBase):
    """`Claim/$inquire` about a pended request; `key` is `trace_number:inquiry`."""

    kind: Literal["inquire_payer"] = "inquire_payer"
    trace_number: str
    purpose: ev.RequestPurpose
    units: int
    inquiry: int

    def as_detail(self) -> dict[str, Any]:
        return {
            "trace_number": self.trace_number,
            "purpose": self.purpose,
            "units": self.units,
            "inquiry": self.inquiry,
        }


class RequestP2P(EffectBase):
    """A peer-to-peer review; `key` is the request's key."""

    kind: Literal["request_p2p"] = "request_p2p"
    # Attachment ids: the gateway reads their bytes, which never enter the history.
    attachments: tuple[int, ...] = ()

    def as_detail(self) -> dict[str, Any]:
        return {"attachments": list(self.attachments)} if self.attachments else {}


class DeliverClaim(EffectBase):
    """A released claim to the clearinghouse; `key` is the claim id."""

    kind: Literal["deliver_claim"] = "deliver_claim"
    # The claim as released, in its JSON form (by alias): delivered as it was released.
    claim: dict[str, Any]

    def as_detail(self) -> dict[str, Any]:
        return {"claim": self.claim}


class NotifyStaff(EffectBase):
    """A message to staff; `key` (the event's seq) makes a retried activity send one."""

    kind: Literal["notify"] = "notify"
    notice: str
    text: str

    # `kind` and `detail` name the notification inside the written `detail`.
    _RENAMED: ClassVar[dict[str, str]] = {"kind": "notice", "detail": "text"}

    def as_detail(self) -> dict[str, Any]:
        return {"kind": self.notice, "detail": self.text}


Effect = Annotated[
    SubmitRequest | InquirePayer | RequestP2P | DeliverClaim | NotifyStaff,
    Field(discriminator="kind"),
]
_EFFECT: TypeAdapter[Effect] = TypeAdapter(Effect)


def effect_from(kind: ev.EffectKind, key: str, detail: dict[str, Any], attempt: int) -> Effect:
    """The effect a failure recorded (its kind, key, written `detail` and attempt)."""
    written = {"kind": kind, "key": key, "detail": detail, "attempt": attempt}
    return _EFFECT.validate_python(written)


def _submit(e: ev.AuthorizationRequested) -> SubmitRequest:
    return SubmitRequest(
        key=e.trace_number,
        purpose=e.purpose,
        units=e.units,
        attendance=e.attendance,
        attendance_summary=e.attendance_summary,
    )


def _notify(notice: str, text: str, key: str) -> NotifyStaff:
    return NotifyStaff(key=key, notice=notice, text=text)


def effects_of(event: ev.Event, seq: int) -> list[Effect]:
    """`seq` is the event's sequence number; it keys notifications so a retry sends one."""
    key = f"{seq}"
    match event:
        case ev.AuthorizationRequested():
            return [_submit(event)]
        case ev.PayerInquired():
            inquiry = InquirePayer(
                key=f"{event.trace_number}:{event.inquiry}",
                trace_number=event.trace_number,
                purpose=event.purpose,
                units=event.units,
                inquiry=event.inquiry,
            )
            return [inquiry]
        case ev.P2PRequested():
            return [RequestP2P(key=event.request_key, attachments=event.attachments)]
        case ev.ClaimReleased():
            claim = event.claim.model_dump(mode="json", by_alias=True)
            return [DeliverClaim(key=event.claim_id, claim=claim)]
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
            return [effect_from(event.kind, event.key, event.detail, event.attempt)]
        case _:
            return []

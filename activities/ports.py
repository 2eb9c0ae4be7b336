"""Ports the activities talk to (payer gateway, notifier, claims outbox) and their messages."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from domain.views import ClaimView, EpisodeSummary, StoredEvent

Purpose = Literal["initial", "extension", "reversal", "p2p"]


class Message(BaseModel):
    # Frozen so a message cannot change between a retry and the next; extra fields are
    # ignored so an older worker can still read a newer sender's payload.
    model_config = ConfigDict(frozen=True, extra="ignore")


class PayerRequest(Message):
    episode_id: str
    trace_number: str
    purpose: Purpose
    payer_id: str
    idempotency_key: str
    payload: dict[str, Any] = {}


class PayerReceipt(Message):
    trace_number: str
    accepted: bool
    duplicate: bool = False
    # The X12 306 action of the payer's synchronous answer (Da Vinci PAS: A1, A3, A4 …), when
    # it gave one; the decision itself reaches the episode through the webhook inbox.
    action: str | None = None


class Notification(Message):
    episode_id: str
    kind: str
    detail: str
    # When set, the notifier sends one notification per (episode_id, key), so an
    # activity retry does not page staff twice.
    key: str | None = None


class OutboundClaim(Message):
    episode_id: str
    claim_id: str
    claim: dict[str, Any]
    # Ops retried its delivery after the clearinghouse rejected its batch: queue it again.
    resend: bool = False


class ProjectionBatch(Message):
    summary: EpisodeSummary
    events: list[StoredEvent]
    claims: list[ClaimView] = []


class InvalidRequest(Exception):
    """The payer refused the request as malformed; sending it again cannot succeed."""


class PayerGateway(Protocol):
    async def submit(self, request: PayerRequest) -> PayerReceipt:
        """Send `request`; a repeat of the same `idempotency_key` is answered, not resent."""
        ...


@runtime_checkable
class PayerInquiry(Protocol):
    async def inquire(self, request: PayerRequest, attempt: int) -> PayerReceipt:
        """Ask the payer again about the pended request `request` (Da Vinci PAS `$inquire`);
        `attempt` (1, 2, …) keeps each inquiry's record apart."""
        ...


class Notifier(Protocol):
    async def notify(self, notification: Notification) -> None: ...


class ClaimsOutbox(Protocol):
    async def deliver(self, claim: OutboundClaim) -> None:
        """Hand `claim` on; idempotent on (episode_id, claim_id)."""
        ...

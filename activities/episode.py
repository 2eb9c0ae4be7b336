"""The episode workflow's activities: every side effect it has, behind the ports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ports import (
    ClaimsOutbox,
    InvalidRequest,
    Message,
    Notification,
    Notifier,
    OutboundClaim,
    PayerGateway,
    PayerInquiry,
    PayerReceipt,
    PayerRequest,
    ProjectionBatch,
    Purpose,
)
from domain.views import ClaimView, EpisodeSummary, StoredEvent

PAYER_REJECTED = "PayerRejectedRequest"


class ProjectionStore(Protocol):
    """Where the projection activity writes: the slice of store.ports.ReadModel it needs."""

    def apply(
        self, summary: EpisodeSummary, events: list[StoredEvent], claims: list[ClaimView]
    ) -> int: ...


class AuthorizationSubmission(Message):
    episode_id: str
    payer_id: str
    trace_number: str
    # "reversal": the authorization a payer owes after a P2P or appeal overturned a denial.
    purpose: Literal["initial", "reversal"] = "initial"
    payload: dict[str, Any] = {}
    # 0 the first time; a retry ops asked for sends the request again under a new key.
    attempt: int = 0


class ExtensionSubmission(Message):
    episode_id: str
    payer_id: str
    trace_number: str
    payload: dict[str, Any] = {}
    attempt: int = 0


class PeerToPeerRequest(Message):
    episode_id: str
    payer_id: str
    # The trace number of the denied request the review is about.
    trace_number: str
    payload: dict[str, Any] = {}
    attempt: int = 0


class PendedInquiry(Message):
    """Ask the payer again about a pended request (Da Vinci PAS `Claim/$inquire`)."""

    episode_id: str
    payer_id: str
    # The pended request: its trace number, purpose and the payload it was sent with.
    trace_number: str
    purpose: Purpose = "initial"
    # 1 for the first inquiry about this request, then 2, 3 …: each is recorded apart.
    attempt: int = 1
    payload: dict[str, Any] = {}
    # 0 the first time; a retry ops asked for after this inquiry failed asks again under a
    # new key (the failed one is answered from the submissions log, never resent).
    retry: int = 0


class NotificationSent(Message):
    episode_id: str
    kind: str


class ClaimDelivered(Message):
    episode_id: str
    claim_id: str


def idempotency_key(episode_id: str, trace_number: str, purpose: Purpose, attempt: int = 0) -> str:
    """One key per submission; a retry ops asked for after a failure is a new submission."""
    key = f"{episode_id}:{trace_number}:{purpose}"
    return f"{key}:retry-{attempt}" if attempt else key


class EpisodeActivities:
    def __init__(
        self,
        payer_gateway: PayerGateway,
        read_model: ProjectionStore,
        notifier: Notifier,
        outbox: ClaimsOutbox,
    ) -> None:
        self._payers = payer_gateway
        self._read_model = read_model
        self._notifier = notifier
        self._outbox = outbox

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on a worker."""
        return [
            self.submit_authorization_request,
            self.submit_extension_request,
            self.request_peer_to_peer,
            self.project_events,
            self.notify_staff,
            self.deliver_claim,
            self.inquire_payer,
        ]

    @activity.defn
    async def submit_authorization_request(self, req: AuthorizationSubmission) -> PayerReceipt:
        return await self._submit(req, req.purpose)

    @activity.defn
    async def submit_extension_request(self, req: ExtensionSubmission) -> PayerReceipt:
        return await self._submit(req, "extension")

    @activity.defn
    async def request_peer_to_peer(self, req: PeerToPeerRequest) -> PayerReceipt:
        return await self._submit(req, "p2p")

    @activity.defn
    async def project_events(self, batch: ProjectionBatch) -> int:
        # The read model is synchronous (SQLAlchemy); keep it off the worker's event loop.
        return await asyncio.to_thread(
            self._read_model.apply, batch.summary, batch.events, batch.claims
        )

    @activity.defn
    async def notify_staff(self, notification: Notification) -> NotificationSent:
        await self._notifier.notify(notification)
        return NotificationSent(episode_id=notification.episode_id, kind=notification.kind)

    @activity.defn
    async def deliver_claim(self, claim: OutboundClaim) -> ClaimDelivered:
        await self._outbox.deliver(claim)
        return ClaimDelivered(episode_id=claim.episode_id, claim_id=claim.claim_id)

    @activity.defn
    async def inquire_payer(self, req: PendedInquiry) -> PayerReceipt:
        """The payer's current answer lands in the webhook inbox like any decision; the
        receipt's `action` says what it was (A4: still pended)."""
        if not isinstance(self._payers, PayerInquiry):
            raise ApplicationError(
                "this worker's payer gateway cannot inquire",
                type=PAYER_REJECTED,
                non_retryable=True,
            )
        request = PayerRequest(
            episode_id=req.episode_id,
            trace_number=req.trace_number,
            purpose=req.purpose,
            payer_id=req.payer_id,
            idempotency_key=idempotency_key(
                req.episode_id, req.trace_number, req.purpose, req.retry
            ),
            payload=req.payload,
        )
        try:
            return await self._payers.inquire(request, req.attempt)
        except InvalidRequest as err:
            raise ApplicationError(str(err), type=PAYER_REJECTED, non_retryable=True) from err

    async def _submit(
        self,
        req: AuthorizationSubmission | ExtensionSubmission | PeerToPeerRequest,
        purpose: Purpose,
    ) -> PayerReceipt:
        request = PayerRequest(
            episode_id=req.episode_id,
            trace_number=req.trace_number,
            purpose=purpose,
            payer_id=req.payer_id,
            idempotency_key=idempotency_key(req.episode_id, req.trace_number, purpose, req.attempt),
            payload=req.payload,
        )
        try:
            return await self._payers.submit(request)
        except InvalidRequest as err:
            raise ApplicationError(str(err), type=PAYER_REJECTED, non_retryable=True) from err

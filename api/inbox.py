"""Payer webhook deliveries: kept in the inbox first, then parsed, matched and applied once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from api.deps import ApiDeps, blocking
from api.episode_calls import EpisodeCalls
from api.problems import ApiProblem, ProblemItem, rejected_problem
from api.schemas import EpisodeOutcome
from domain.commands import ApplyPayerDecision
from domain.errors import Rejected
from domain.model import PayerDecision
from domain.views import EpisodeView
from payers.formats import UnparseableDecision, UnsupportedFormat, parse_decision
from payers.formats.x12_ack import Acknowledgement, is_acknowledgement, parse_acknowledgement
from store.claims import BatchStateConflict
from store.ports import AuditEntry, InboxEntry, InboxStatus
from workflows.client import WorkflowServiceUnavailable
from workflows.episode import EpisodeWorkflow

log = logging.getLogger("stepdown.api.webhooks")
# Set only by the mailbox poller: webhook deliveries keep just api.signed.KEPT_HEADERS, so a
# payer cannot post an acknowledgement that would mark another payer's 278 rejected.
MAILBOX_FILE_HEADER = "x-stepdown-mailbox-file"
# Set only by payers/pas_gateway.py on the answers it stores.
PAS_CHANNEL_HEADER = "stepdown-channel"

# How long a replay waits for the first delivery's inbox row (noted, not yet stored).
REPLAY_WAITS = (0.1, 0.3, 0.6)


@dataclass(frozen=True)
class SignedDelivery:
    """A webhook whose signature verified: who sent it, its id and its raw bytes."""

    payer_id: str
    delivery_id: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    # payers.signature.fingerprint of the signed message; empty when none was checked.
    fingerprint: str = ""


@dataclass(frozen=True)
class Answer:
    """What the payer is told, and what became of the delivery (`outcome`)."""

    status_code: int
    body: dict[str, Any]
    outcome: str

    @property
    def episode_id(self) -> str | None:
        return self.body.get("episode_id")

    def stored(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "body": self.body}


def accepted(
    delivery_id: str,
    episode_id: str | None,
    status: str,
    episode: dict[str, Any] | None = None,
) -> Answer:
    """A 202; `episode` is what became of the episode (`outcome_of`) when it was applied."""
    body: dict[str, Any] = {"delivery_id": delivery_id, "episode_id": episode_id, "status": status}
    if episode is not None:
        body["episode"] = episode
    return Answer(202, body, status)


def outcome_of(view: EpisodeView) -> dict[str, Any]:
    """What a payer hears of the episode its decision reached: its state and version, and the
    authorization in force — facts the payer itself sent, so the answer carries no PHI. A
    caller learns the outcome without a second request."""
    return EpisodeOutcome.model_validate(view, from_attributes=True).model_dump(mode="json")


def refused(problem: ApiProblem, outcome: str) -> Answer:
    return Answer(problem.status, problem.body(), outcome)


def replayed(entry: InboxEntry) -> Answer:
    """A repeated delivery hears the first answer; an accepted one now says `duplicate`."""
    assert entry.response is not None
    first = Answer(entry.response["status_code"], entry.response["body"], entry.status)
    return as_repeat(first, entry.episode_id)


def as_repeat(answer: Answer, episode_id: str | None = None) -> Answer:
    if answer.status_code != 202:
        return Answer(answer.status_code, answer.body, "duplicate")
    delivery_id = answer.body["delivery_id"]
    episode = answer.body.get("episode")
    return accepted(delivery_id, answer.episode_id or episode_id, "duplicate", episode)


# The audit entry of the request that settles a delivery, given its answer (None: none).
AuditOf = Callable[[Answer], AuditEntry | None]


class DeliveryProcessor:
    """`audit_of`, when given, audits the settling answer in the inbox's own transaction
    (`WebhookInbox.mark`), and `audited` then says the request's entry is written.

    With `settle_later`, the answer is returned before that transaction: `settle()` writes it
    (the webhook route runs it once the payer has its answer). The delivery was committed
    before it was applied, so nothing is lost if it never runs: the row stays pending and the
    redelivery loop applies it again, which the episode answers as a duplicate.
    """

    def __init__(
        self,
        deps: ApiDeps,
        gateway: EpisodeCalls,
        audit_of: AuditOf | None = None,
        *,
        settle_later: bool = False,
    ) -> None:
        self._deps = deps
        self._gateway = gateway
        self._audit_of = audit_of
        self._settle_later = settle_later
        self._unsettled: Callable[[], Awaitable[None]] | None = None
        self.audited = False

    async def settle(self) -> None:
        """Writes the deferred inbox mark (and audit entry) of `settle_later`, if any."""
        unsettled, self._unsettled = self._unsettled, None
        if unsettled is not None:
            await unsettled()

    async def receive(self, delivery: SignedDelivery) -> Answer:
        """Commits the inbox row before anything else; a repeat is answered, never re-applied."""
        received = await self._received(delivery)
        if isinstance(received, Answer):
            return received
        entry, fresh = received
        if entry.body != delivery.body:
            return refused(reused_id(delivery), "conflict")
        if entry.status == "unmatched":
            # Not final: the episode may be known by now (DeliveryProcessor.process re-answers).
            return await self.process(entry)
        if entry.response is not None:
            return replayed(entry)
        # No answer stored: the first attempt is still running or died; applying is idempotent.
        if not fresh:
            # The answer becomes a duplicate after it is stored: the request audits that.
            self._audit_of = None
        answer = await self.process(entry)
        return answer if fresh else as_repeat(answer)

    async def _received(self, delivery: SignedDelivery) -> tuple[InboxEntry, bool] | Answer:
        """The stored entry and whether this request stored it; for a signed message seen
        before under another delivery id, the answer of that first delivery instead."""
        fields = (
            delivery.delivery_id,
            delivery.payer_id,
            delivery.content_type,
            delivery.headers,
            delivery.body,
            self._deps.clock(),
        )
        if delivery.fingerprint:
            entry, fresh, first_id = await blocking(
                self._deps.inbox.receive_signed, *fields, delivery.fingerprint
            )
            if entry is not None:
                return entry, fresh
            replay = await self._replay(delivery, first_id)
            if replay is not None:
                return replay
        return await blocking(self._deps.inbox.receive, *fields)

    async def _replay_of(self, delivery: SignedDelivery) -> Answer | None:
        """A signed message seen before under another delivery id hears the first one's answer."""
        first_id = await blocking(
            self._deps.inbox.remember_signature,
            delivery.payer_id,
            delivery.fingerprint,
            delivery.delivery_id,
            self._deps.clock(),
        )
        return await self._replay(delivery, first_id)

    async def _replay(self, delivery: SignedDelivery, first_id: str) -> Answer | None:
        """None when `first_id` is this delivery (now, or once a lost first gave way)."""
        if first_id == delivery.delivery_id:
            return None
        log.warning(
            "replayed webhook refused: payer=%r delivery=%r repeats %r",
            delivery.payer_id,
            delivery.delivery_id,
            first_id,
        )
        first = await self._stored(first_id, delivery.payer_id)
        if first is None:
            # The first delivery was never kept (a signature noted in a transaction of its
            # own, as before `receive_signed`, and the row then failed): this one takes its
            # place, so the decision is not lost.
            claimed = await blocking(
                self._deps.inbox.claim_signature,
                delivery.payer_id,
                delivery.fingerprint,
                first_id,
                delivery.delivery_id,
            )
            return None if claimed else await self._replay_of(delivery)
        if first.response is None:
            answer = accepted(first_id, first.episode_id, "duplicate")
        else:
            answer = replayed(first)
        return Answer(answer.status_code, answer.body, "replay")

    async def _stored(self, delivery_id: str, payer_id: str) -> InboxEntry | None:
        """The entry, waiting briefly for a first request that is still storing it."""
        for pause in REPLAY_WAITS:
            found = await blocking(self._deps.inbox.get, delivery_id, payer_id)
            if found is not None:
                return found
            await asyncio.sleep(pause)
        return await blocking(self._deps.inbox.get, delivery_id, payer_id)

    async def process(self, entry: InboxEntry) -> Answer:
        """Parse, match and apply one stored delivery, and record the outcome in the inbox."""
        if self._is_acknowledgement(entry):
            return await self._acknowledge(entry)
        try:
            decision = parse_decision(entry.content_type, entry.body)
        except UnsupportedFormat as err:
            problem = ApiProblem(415, "unsupported_media_type", str(err))
            return await self._finish(entry, "rejected", refused(problem, "rejected"), str(err))
        except UnparseableDecision as err:
            detail = f"the body is not a usable payer decision: {err.detail}"
            problem = ApiProblem(422, "unparseable", detail)
            return await self._finish(entry, "rejected", refused(problem, "rejected"), detail)
        episode_id = await self._match(entry.payer_id, decision)
        if episode_id is None:
            return await self._unmatched(entry, decision)
        return await self._apply(entry, episode_id, decision)

    def _is_acknowledgement(self, entry: InboxEntry) -> bool:
        from_mailbox = MAILBOX_FILE_HEADER in entry.headers
        ledger = self._deps.x12_ledger is not None
        return from_mailbox and ledger and is_acknowledgement(entry.body)

    async def _acknowledge(self, entry: InboxEntry) -> Answer:
        """A 999/TA1 is recorded in the X12 ledger, matched to the 278 it answers.

        A rejection waits there (`X12Ledger.unreported_rejections`) to become the episode's
        `submission_failed`; the inbox row keeps its reason as the error.
        """
        assert self._deps.x12_ledger is not None
        try:
            ack = parse_acknowledgement(entry.body)
        except UnparseableDecision as err:
            detail = f"the body is not a usable acknowledgement: {err.detail}"
            problem = ApiProblem(422, "unparseable", detail)
            return await self._finish(entry, "rejected", refused(problem, "rejected"), detail)
        recorded, _ = await blocking(
            self._deps.x12_ledger.record_acknowledgement, entry.delivery_id, ack, entry.received_at
        )
        answer = accepted(entry.delivery_id, recorded.episode_id, "acknowledged")
        error = None if ack.accepted else recorded.reason
        if recorded.episode_id is None:
            conflict = await self._acknowledge_batch(ack, recorded.reason, entry.received_at)
            error = conflict or error
        return await self._finish(entry, "applied", answer, error, recorded.episode_id)

    async def _acknowledge_batch(
        self, ack: Acknowledgement, reason: str, at: datetime
    ) -> str | None:
        """A 999 for an 837 group (AK1 HC, AK102 = our GS06) or a TA1 naming a batch's ISA13:
        the batch and every claim in it become accepted or rejected. A rejection reaches the
        claims' episodes as `claim_delivery_failed` (MailboxPoller.report_rejections).
        Returns why the batch could not take it, if it could not."""
        claims = self._deps.claims
        if claims is None:
            return None
        batches = claims.batches
        if ack.kind == "999" and ack.functional_id == "HC":
            batch = await blocking(batches.batch_for_group, ack.control_number)
        elif ack.kind == "TA1" and not ack.accepted:
            # A TA1 that accepts only vouches for the envelope; the 999 decides the claims.
            batch = await blocking(batches.batch_for_interchange, ack.control_number)
        else:
            return None
        if batch is None:
            return None
        error = None if ack.accepted else reason[:2000]
        try:
            await blocking(batches.acknowledge, batch.batch_id, ack.accepted, at, error)
        except BatchStateConflict as err:
            log.warning("acknowledgement of claim batch %s not applied: %s", batch.batch_id, err)
            return str(err)
        return None

    async def assign(self, entry: InboxEntry, episode_id: str) -> Answer:
        """Ops say which episode an unmatched delivery answers; the episode still decides.

        A refusal leaves the delivery unmatched (raised as a problem) so a wrong guess costs
        nothing; on success the trace number is routed to the episode for later deliveries.
        """
        decision = parse_decision(entry.content_type, entry.body)
        command = ApplyPayerDecision(
            delivery_id=entry.delivery_id, decision=decision, channel=channel_of(entry)
        )
        result = await self._gateway.update(
            episode_id,
            EpisodeWorkflow.apply_payer_decision,
            command,
            update_id=entry.delivery_id,
        )
        await blocking(
            self._deps.read_model.record_trace,
            decision.trace_number,
            episode_id,
            entry.payer_id,
            self._deps.clock(),
        )
        answer = accepted(entry.delivery_id, episode_id, result.status, outcome_of(result.view))
        return await self._finish(entry, "applied", answer, None, episode_id)

    async def _unmatched(self, entry: InboxEntry, decision: PayerDecision) -> Answer:
        detail = (
            f"no episode of payer {entry.payer_id} sent a request with trace number "
            f"{decision.trace_number}; the delivery is kept, and applied once the episode is "
            "known (retry it later, or ops assign it)"
        )
        answer = refused(ApiProblem(404, "unmatched", detail), "unmatched")
        trace = decision.trace_number
        return await self._finish(entry, "unmatched", answer, detail, trace_number=trace)

    async def _match(self, payer_id: str, decision: PayerDecision) -> str | None:
        route = await blocking(self._deps.read_model.trace_route, decision.trace_number)
        if route is None:
            return None
        if route.payer_id != payer_id:
            # A payer may only decide its own requests, whatever it learnt of other traces.
            log.warning("payer %r sent a decision for another payer's request", payer_id)
            return None
        return route.episode_id

    async def _apply(self, entry: InboxEntry, episode_id: str, decision: PayerDecision) -> Answer:
        command = ApplyPayerDecision(
            delivery_id=entry.delivery_id, decision=decision, channel=channel_of(entry)
        )
        update = EpisodeWorkflow.apply_payer_decision
        try:
            result = await self._gateway.update(
                episode_id, update, command, update_id=entry.delivery_id
            )
        except WorkflowServiceUnavailable as err:
            answer = accepted(entry.delivery_id, episode_id, "queued")
            return await self._finish(entry, "queued", answer, str(err), episode_id)
        except Rejected as err:
            if err.code == "not_found":
                # A route whose episode was never opened (intake refused): nothing to apply to.
                return await self._unmatched(entry, decision)
            answer = refused(rejected_problem(err, episode_id=episode_id), "rejected")
            return await self._finish(entry, "rejected", answer, str(err), episode_id)
        answer = accepted(entry.delivery_id, episode_id, result.status, outcome_of(result.view))
        return await self._finish(entry, "applied", answer, None, episode_id)

    async def _finish(
        self,
        entry: InboxEntry,
        status: InboxStatus,
        answer: Answer,
        error: str | None,
        episode_id: str | None = None,
        trace_number: str | None = None,
    ) -> Answer:
        audit = self._audit_of(answer) if self._audit_of is not None else None

        async def mark() -> None:
            await blocking(
                self._deps.inbox.mark,
                entry.delivery_id,
                status,
                payer_id=entry.payer_id,
                episode_id=episode_id,
                error=error,
                response=answer.stored(),
                trace_number=trace_number,
                # An unmatched answer was never final: what it became is what a retry hears.
                replace_response=entry.status == "unmatched",
                audit=audit,
            )
            self.audited = audit is not None

        if self._settle_later:
            self._unsettled = mark
        else:
            await mark()
        return answer


def channel_of(entry: InboxEntry) -> Literal["pas"] | None:
    """ "pas" for a ClaimResponse the PAS gateway stored (`$submit`/`$inquire` answers): a pend
    is then followed up with `$inquire`. Webhook deliveries keep only api.signed.KEPT_HEADERS,
    so a payer cannot claim the channel for itself."""
    return "pas" if entry.headers.get(PAS_CHANNEL_HEADER) == "pas" else None


def reused_id(delivery: SignedDelivery) -> ApiProblem:
    detail = (
        f"delivery id {delivery.delivery_id} was already used by payer {delivery.payer_id} "
        "for a different body; a retry must resend the same body, a new decision needs a "
        "new Stepdown-Delivery id"
    )
    item = ProblemItem(
        detail="Stepdown-Delivery: reused with another body", parameter="Stepdown-Delivery"
    )
    return ApiProblem(409, "delivery_id_reused", detail, errors=[item])


async def assign(
    deps: ApiDeps, gateway: EpisodeCalls, payer_id: str, delivery_id: str, episode_id: str
) -> Answer:
    """Ops assign an unmatched delivery (API and console): raises ApiProblem or Rejected."""
    entry = await blocking(deps.inbox.get, delivery_id, payer_id)
    if entry is None:
        raise ApiProblem(404, "not_found", f"payer {payer_id} sent no delivery {delivery_id}")
    if entry.status != "unmatched":
        detail = f"delivery {delivery_id} is {entry.status}; only unmatched deliveries are assigned"
        raise ApiProblem(409, "invalid_state", detail, state=entry.status)
    view = await gateway.view(episode_id)
    if view.payer.id != payer_id:
        detail = (
            f"episode {episode_id} belongs to payer {view.payer.id}, not {payer_id}: "
            "a payer decides only its own requests"
        )
        raise ApiProblem(409, "payer_mismatch", detail)
    return await DeliveryProcessor(deps, gateway).assign(entry, episode_id)

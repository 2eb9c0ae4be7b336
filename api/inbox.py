"""Payer webhook deliveries: kept in the inbox first, then parsed, matched and applied once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from api.deps import ApiDeps, blocking
from api.gateway import EpisodeGateway
from api.problems import ApiProblem, rejected_problem
from domain.commands import ApplyPayerDecision
from domain.errors import Rejected
from domain.model import PayerDecision
from payers.formats import UnparseableDecision, UnsupportedFormat, parse_decision
from payers.formats.x12_ack import is_acknowledgement, parse_acknowledgement
from store.ports import InboxEntry, InboxStatus
from workflows.client import WorkflowServiceUnavailable
from workflows.episode import EpisodeWorkflow

log = logging.getLogger("stepdown.api.webhooks")
# Set only by the mailbox poller: webhook deliveries keep just api.signed.KEPT_HEADERS, so a
# payer cannot post an acknowledgement that would mark another payer's 278 rejected.
MAILBOX_FILE_HEADER = "x-stepdown-mailbox-file"


@dataclass(frozen=True)
class SignedDelivery:
    """A webhook whose signature verified: who sent it, its id and its raw bytes."""

    payer_id: str
    delivery_id: str
    content_type: str
    headers: dict[str, str]
    body: bytes


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


def accepted(delivery_id: str, episode_id: str | None, status: str) -> Answer:
    body = {"delivery_id": delivery_id, "episode_id": episode_id, "status": status}
    return Answer(202, body, status)


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
    return accepted(delivery_id, answer.episode_id or episode_id, "duplicate")


class DeliveryProcessor:
    def __init__(self, deps: ApiDeps, gateway: EpisodeGateway) -> None:
        self._deps = deps
        self._gateway = gateway

    async def receive(self, delivery: SignedDelivery) -> Answer:
        """Commits the inbox row before anything else; a repeat is answered, never re-applied."""
        entry, fresh = await blocking(
            self._deps.inbox.receive,
            delivery.delivery_id,
            delivery.payer_id,
            delivery.content_type,
            delivery.headers,
            delivery.body,
            self._deps.clock(),
        )
        if entry.payer_id != delivery.payer_id:
            detail = (
                f"delivery id {delivery.delivery_id} was already used by another sender; "
                "send every delivery under a unique Stepdown-Delivery id"
            )
            return refused(ApiProblem(409, "delivery_id_taken", detail), "rejected")
        if entry.response is not None:
            return replayed(entry)
        # No answer stored: the first attempt is still running or died; applying is idempotent.
        answer = await self.process(entry)
        return answer if fresh else as_repeat(answer)

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
            detail = (
                f"no episode of payer {entry.payer_id} sent a request with trace number "
                f"{decision.trace_number}; the delivery is kept for ops to resolve"
            )
            answer = refused(ApiProblem(404, "unmatched", detail), "unmatched")
            return await self._finish(entry, "unmatched", answer, detail)
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
        return await self._finish(entry, "applied", answer, error, recorded.episode_id)

    async def _match(self, payer_id: str, decision: PayerDecision) -> str | None:
        found = await blocking(self._deps.read_model.episode_for_trace, decision.trace_number)
        if found is None:
            return None
        summary = await blocking(self._deps.read_model.summary, found)
        if summary is None or summary.payer_id != payer_id:
            # A payer may only decide its own requests, whatever it learnt of other traces.
            log.warning("payer %r sent a decision for another payer's request", payer_id)
            return None
        return found

    async def _apply(self, entry: InboxEntry, episode_id: str, decision: PayerDecision) -> Answer:
        command = ApplyPayerDecision(delivery_id=entry.delivery_id, decision=decision)
        update = EpisodeWorkflow.apply_payer_decision
        try:
            result = await self._gateway.update(
                episode_id, update, command, update_id=entry.delivery_id
            )
        except WorkflowServiceUnavailable as err:
            answer = accepted(entry.delivery_id, episode_id, "queued")
            return await self._finish(entry, "queued", answer, str(err), episode_id)
        except Rejected as err:
            answer = refused(rejected_problem(err, episode_id=episode_id), "rejected")
            return await self._finish(entry, "rejected", answer, str(err), episode_id)
        answer = accepted(entry.delivery_id, episode_id, result.status)
        return await self._finish(entry, "applied", answer, None, episode_id)

    async def _finish(
        self,
        entry: InboxEntry,
        status: InboxStatus,
        answer: Answer,
        error: str | None,
        episode_id: str | None = None,
    ) -> Answer:
        await blocking(
            self._deps.inbox.mark,
            entry.delivery_id,
            status,
            episode_id=episode_id,
            error=error,
            response=answer.stored(),
        )
        return answer

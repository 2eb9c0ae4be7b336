"""The mailbox poller: inbound clearinghouse files go into the webhook inbox, then the archive.

A 278 response becomes a payer decision exactly like a webhook delivery (inbox row first,
deduplicated by delivery id, applied once; the redelivery loop retries it while Temporal is
away). A 999 or TA1 goes the same way and is recorded in the X12 ledger (api/inbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from api.deps import ApiDeps, blocking
from api.episode_calls import EpisodeCalls
from api.inbox import MAILBOX_FILE_HEADER, DeliveryProcessor, SignedDelivery
from api.problems import traceback_only
from domain import commands as c
from domain.errors import Rejected
from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import parse_x12
from payers.formats.x12_ack import is_acknowledgement, parse_acknowledgement
from payers.mailbox import Mailbox
from store.x12_ledger import RecordedAcknowledgement, SubmissionRejection, X12Ledger
from workflows.episode import EpisodeWorkflow

log = logging.getLogger("stepdown.api.mailbox")
CONTENT_TYPE = "application/edi-x12"
# The inbox's payer for a file no submission of ours explains; its rows stay unmatched.
CLEARINGHOUSE = "clearinghouse"


def delivery_id(body: bytes) -> str:
    """The same file read twice (or sent again under a new name) is the same delivery."""
    return f"mailbox-{hashlib.sha256(body).hexdigest()[:40]}"


def sender(ledger: X12Ledger, body: bytes) -> str:
    """The payer of the submission this file answers, found by trace or control number.

    The mailbox is the clearinghouse's authenticated channel; what it relays for a payer
    may decide only that payer's requests, as a signed webhook may (api/inbox.py).
    """
    try:
        if is_acknowledgement(body):
            answered = ledger.submission_for_control(parse_acknowledgement(body).control_number)
        else:
            answered = ledger.submission_for_trace(parse_x12(body).trace_number)
    except UnparseableDecision:
        return CLEARINGHOUSE  # kept anyway: the inbox records why it could not be used
    return answered.payer_id if answered else CLEARINGHOUSE


class MailboxPoller:
    """Each round takes every inbound file: inbox row, processing, then archive."""

    def __init__(self, deps: ApiDeps, mailbox: Mailbox, ledger: X12Ledger, timeout: float):
        self._deps = deps
        self._mailbox = mailbox
        self._ledger = ledger
        self._timeout = timeout

    async def run_once(self) -> int:
        """One pass; returns how many files were taken in."""
        gateway = EpisodeCalls(self._deps.episodes, self._timeout, metrics=self._deps.metrics)
        processor = DeliveryProcessor(self._deps, gateway)
        taken = 0
        for name in await self._mailbox.list_inbound():
            try:
                body = await self._mailbox.read(name)
            except FileNotFoundError:
                continue  # another API replica took it first
            payer_id = await blocking(sender, self._ledger, body)
            delivery = SignedDelivery(
                payer_id=payer_id,
                delivery_id=delivery_id(body),
                content_type=CONTENT_TYPE,
                headers={MAILBOX_FILE_HEADER: name},
                body=body,
            )
            # Once receive returns, the inbox holds the file: archiving cannot lose it.
            answer = await processor.receive(delivery)
            await self._mailbox.archive(name)
            self._deps.metrics.inc("stepdown_mailbox_files_total", status=answer.outcome)
            log.info("mailbox file %s: %s", name, answer.outcome)
            taken += 1
        return taken

    async def report_rejections(self) -> int:
        """Each 278 the clearinghouse rejected becomes the episode's `submission_failed`."""
        gateway = EpisodeCalls(self._deps.episodes, self._timeout, metrics=self._deps.metrics)

        async def report(rejection: SubmissionRejection) -> None:
            command = c.RecordEffectFailure(
                kind="submit_request",
                key=rejection.trace_number,
                reason=f"clearinghouse rejected the 278: {rejection.reason}"[:2000],
                detail={"purpose": rejection.purpose, "trace_number": rejection.trace_number},
                reference=f"ack-{rejection.acknowledgement_id}",
            )
            update = EpisodeWorkflow.report_effect_failure
            update_id = f"x12-ack-{rejection.acknowledgement_id}"
            try:
                await gateway.update(rejection.episode_id, update, command, update_id=update_id)
            except Rejected as err:
                # The episode refuses it for good (closed, unknown): keep the log, move on.
                log.warning("rejection of %s not recorded: %s", rejection.trace_number, err)

        reported = await report_rejected_submissions(self._ledger, report, self._deps.clock)
        return reported + await self.report_rejected_batches(gateway)

    async def report_rejected_batches(self, gateway: EpisodeCalls) -> int:
        """Each claim of an 837 batch the clearinghouse rejected becomes its episode's
        `claim_delivery_failed` (a worklist item ops can retry: the claim is queued again)."""
        claims = self._deps.claims
        if claims is None:
            return 0
        batches = claims.batches

        async def report(ack: RecordedAcknowledgement) -> None:
            if ack.kind == "999":
                batch = await blocking(batches.batch_for_group, ack.control_number)
            else:
                batch = await blocking(batches.batch_for_interchange, ack.control_number)
            if batch is None:
                return  # not about a batch of ours (a stray TA1): nothing to tell
            for claim in batch.claims:
                command = c.RecordEffectFailure(
                    kind="deliver_claim",
                    key=claim.claim_id,
                    reason=f"clearinghouse rejected 837I batch {batch.batch_id}: {ack.reason}"[
                        :2000
                    ],
                    detail={"claim": claim.claim.model_dump(mode="json", by_alias=True)},
                    reference=f"batch-{batch.batch_id}",
                )
                update = EpisodeWorkflow.report_effect_failure
                update_id = f"x12-ack-{ack.id}-{claim.episode_id}-{claim.claim_id}"
                try:
                    await gateway.update(claim.episode_id, update, command, update_id=update_id)
                except Rejected as err:
                    log.warning("rejection of claim %s not recorded: %s", claim.claim_id, err)

        reported = 0
        for ack in await blocking(self._ledger.unreported_batch_rejections):
            try:
                await report(ack)
            except Exception as err:
                log.error("reporting claim batch rejection %s failed: %s", ack.id,
                          traceback_only(err))  # fmt: skip
                continue
            await blocking(self._ledger.mark_rejection_reported, ack.id, self._deps.clock())
            reported += 1
        return reported

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
                await self.report_rejections()
            except Exception as err:
                # An unreachable SFTP server or database must not end the loop.
                log.error("mailbox poll failed: %s", traceback_only(err))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


async def report_rejected_submissions(
    ledger: X12Ledger,
    report: Callable[[SubmissionRejection], Awaitable[None]],
    clock: Callable[[], datetime],
) -> int:
    """Hands every 278 the clearinghouse rejected (999 R, TA1 R) to `report` once.

    `report` is meant to record the episode's `submission_failed` (trace number, purpose,
    reason); a rejection is marked reported only after it returns, so one that raises is
    offered again on the next call. Returns how many were reported.
    """
    reported = 0
    for rejection in await blocking(ledger.unreported_rejections):
        try:
            await report(rejection)
        except Exception as err:
            log.error(
                "reporting the rejection of trace %s failed: %s",
                rejection.trace_number,
                traceback_only(err),
            )
            continue
        await blocking(ledger.mark_rejection_reported, rejection.acknowledgement_id, clock())
        reported += 1
    return reported

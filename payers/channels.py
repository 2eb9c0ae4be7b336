"""The worker's payer gateway: each submission goes out on the payer's channel from the payer
directory (DESIGN.md "Round two"), and every one is recorded in the submissions log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from activities.ports import (
    InvalidRequest,
    PayerGateway,
    PayerInquiry,
    PayerReceipt,
    PayerRequest,
)
from store.payers import PayerDirectory, PayerEntry
from store.submissions import NewSubmission, Submission, SubmissionLog, SubmissionStatus


def utc_now() -> datetime:
    return datetime.now(UTC)


class ChannelGateway:
    """`pas` → the Da Vinci PAS gateway; `x12` → the X12 gateway given (the clearinghouse
    mailbox); `webhook` → nothing is sent, the submission waits for the payer's webhook.

    A gateway whose `logs_submissions` is true writes its own submissions-log rows (with the
    exact payload); for any other the row is written here, without a payload.

    `webhook_notice`, when set, is told of webhook-only submissions (the dev stack's payer
    simulator, which answers `sim-` payers through the signed webhook).
    """

    def __init__(
        self,
        directory: PayerDirectory,
        submissions: SubmissionLog,
        *,
        pas: PayerGateway | None = None,
        x12: PayerGateway | None = None,
        webhook_notice: PayerGateway | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._directory = directory
        self._submissions = submissions
        self._channels = {"pas": pas, "x12": x12}
        self._notice = webhook_notice
        self._clock = clock

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        entry = await self._entry(request.payer_id)
        if entry.channel == "webhook":
            return await self._await_webhook(request)
        gateway = self._channel(entry)
        if getattr(gateway, "logs_submissions", False):
            # It keeps the exact payload (the PAS Bundle, the 278) and the answer itself.
            return await gateway.submit(request)
        return await self._logged(request, entry, gateway)

    async def inquire(self, request: PayerRequest, attempt: int) -> PayerReceipt:
        entry = await self._entry(request.payer_id)
        gateway = self._channels.get(entry.channel)
        if not isinstance(gateway, PayerInquiry):
            raise InvalidRequest(
                f"payer {request.payer_id} is on the {entry.channel} channel, which has no "
                "inquiry: its answer comes by webhook or through the clearinghouse mailbox"
            )
        return await gateway.inquire(request, attempt)

    async def _entry(self, payer_id: str) -> PayerEntry:
        entry = await asyncio.to_thread(self._directory.get, payer_id)
        if entry is None:
            raise InvalidRequest(
                f"payer {payer_id} is not in the payer directory; register it with "
                f"PUT /payers/{payer_id}, then retry the submission"
            )
        return entry

    def _channel(self, entry: PayerEntry) -> PayerGateway:
        gateway = self._channels[entry.channel]
        if gateway is None:
            raise InvalidRequest(
                f"payer {entry.payer_id} is on the {entry.channel} channel, which this "
                "worker has no gateway for"
            )
        return gateway

    async def _await_webhook(self, request: PayerRequest) -> PayerReceipt:
        sent = self._notice is not None
        payload = request.model_dump_json() if sent else None
        _, fresh = await self._start(request, "webhook", payload, "awaiting_webhook")
        if self._notice is not None:
            # Told on every attempt: the notice dedupes by idempotency key itself.
            return await self._notice.submit(request)
        return PayerReceipt(trace_number=request.trace_number, accepted=True, duplicate=not fresh)

    async def _logged(
        self, request: PayerRequest, entry: PayerEntry, gateway: PayerGateway
    ) -> PayerReceipt:
        stored, _ = await self._start(request, entry.channel, None, "sending")
        try:
            receipt = await gateway.submit(request)
        except InvalidRequest as err:
            await self._finish(stored.idempotency_key, "failed", error=str(err))
            raise
        await self._finish(stored.idempotency_key, "accepted", response=receipt.model_dump_json())
        return receipt

    async def _start(
        self, request: PayerRequest, channel: str, payload: str | None, status: SubmissionStatus
    ) -> tuple[Submission, bool]:
        new = NewSubmission(
            idempotency_key=request.idempotency_key,
            episode_id=request.episode_id,
            payer_id=request.payer_id,
            trace_number=request.trace_number,
            purpose=request.purpose,
            channel=channel,
            status=status,
            content_type="application/json" if payload else None,
            payload=payload,
        )
        stored, fresh = await asyncio.to_thread(self._submissions.start, new, self._clock())
        return stored, fresh

    async def _finish(self, key: str, status: SubmissionStatus, **fields: str) -> None:
        await asyncio.to_thread(self._submissions.finish, key, status, self._clock(), **fields)

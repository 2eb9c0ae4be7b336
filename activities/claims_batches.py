"""Cutting claim batches and sending their files, on demand and on a schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from payers.claim_files import ClaimFileSink, LocalDirectorySink
from payers.formats.x12_837i import Submitter
from settings import Settings
from store.claims import ClaimBatch
from store.phi import cipher_from_settings
from store.sql_claims import SqlClaimBatches

log = logging.getLogger("stepdown.claims")


class ClaimsNotConfigured(RuntimeError):
    """No submitter (billing provider, clearinghouse ids) is configured, so no 837I can be cut."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SendReport:
    sent: list[str]
    failed: dict[str, str]


class ClaimBatcher:
    """Cuts queued claims into an 837I batch and puts every unsent batch to the sink.

    Cutting and sending are separate steps: a batch is durable (with its control numbers)
    before its file is put, so a failed put is retried with the very same file.
    """

    def __init__(
        self,
        batches: SqlClaimBatches,
        sink: ClaimFileSink,
        submitter: Submitter | None,
        clock: Callable[[], datetime] = utc_now,
        max_claims: int = 500,
    ) -> None:
        self.batches = batches
        self._sink = sink
        self._submitter = submitter
        self._clock = clock
        self._max_claims = max_claims

    async def cut(self, payer_id: str | None = None) -> ClaimBatch | None:
        if self._submitter is None:
            raise ClaimsNotConfigured(
                "set STEPDOWN_CLAIMS_SUBMITTER (billing provider and clearinghouse ids) "
                "before cutting 837I batches"
            )
        return await asyncio.to_thread(
            self.batches.cut, self._submitter, self._clock(), self._max_claims, payer_id
        )

    async def send_pending(self) -> SendReport:
        report = SendReport(sent=[], failed={})
        files = await asyncio.to_thread(self.batches.take_for_sending, self._clock())
        for file in files:
            try:
                await self._sink.put(file.file_name, file.x12.encode("ascii"))
            except Exception as err:  # any sink failure: keep the batch for the next pass
                reason = f"{type(err).__name__}: {err}"
                log.warning("claim batch %s not sent: %s", file.batch_id, reason)
                await asyncio.to_thread(self.batches.send_failed, file.batch_id, reason)
                report.failed[file.batch_id] = reason
                continue
            await asyncio.to_thread(self.batches.mark_sent, file.batch_id, self._clock())
            report.sent.append(file.batch_id)
        return report

    async def cut_and_send(self, payer_id: str | None = None) -> ClaimBatch | None:
        batch = await self.cut(payer_id)
        await self.send_pending()
        if batch is None:
            return None
        return await asyncio.to_thread(self.batches.batch, batch.batch_id)

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Every `interval` seconds: cut what is queued and send what is unsent, until `stop`."""
        while not stop.is_set():
            try:
                await self.cut_and_send()
            except ClaimsNotConfigured as err:
                log.warning("claims batch schedule idle: %s", err)
            except Exception:
                log.exception("claims batch pass failed; the next pass retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def claim_batcher(settings: Settings, engine: Engine) -> ClaimBatcher:
    """The production batcher: the SQL outbox and the local-directory sink of the settings."""
    sink = LocalDirectorySink(settings.claim_files())
    return ClaimBatcher(
        SqlClaimBatches(engine, cipher=cipher_from_settings(settings)),
        sink,
        settings.claims_submitter,
        max_claims=settings.claims_batch_max,
    )

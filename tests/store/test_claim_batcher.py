"""Cutting and sending batches: a failed put keeps the batch for the next pass, the schedule
cuts by itself, and without a submitter nothing is cut."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities.claims_batches import ClaimBatcher, ClaimsNotConfigured
from payers.claim_files import LocalDirectorySink
from store.sql import SqlReadModel
from store.sql_claims import SqlClaimBatches
from tests.support.claim_events import AT, ReleasingEpisode
from tests.support.db import database_engine, database_url
from tests.support.submitter import SUBMITTER

__all__ = ["database_engine", "database_url"]


class FlakySink:
    """Fails the first `failures` puts, then writes to a real directory."""

    def __init__(self, directory: Path, failures: int) -> None:
        self.real = LocalDirectorySink(directory)
        self.failures = failures

    async def put(self, name: str, data: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("mailbox unreachable")
        await self.real.put(name, data)


def release(engine: Engine) -> ReleasingEpisode:
    read_model = SqlReadModel(engine)
    episode = ReleasingEpisode()
    read_model.apply(*episode.opening(), claims=[])
    read_model.apply(*episode.release(), claims=[])
    return episode


async def test_a_failed_put_keeps_the_batch_and_the_next_pass_sends_the_same_file(
    database_engine: Engine, tmp_path: Path
) -> None:
    release(database_engine)
    batcher = ClaimBatcher(
        SqlClaimBatches(database_engine),
        FlakySink(tmp_path / "out", 1),
        SUBMITTER,
        clock=lambda: AT,
    )

    first = await batcher.cut_and_send()
    retried = await batcher.send_pending()

    assert first is not None and first.status == "batched" and "mailbox" in (first.error or "")
    assert retried.sent == [first.batch_id]
    stored = batcher.batches.batch(first.batch_id)
    assert stored.status == "sent" and {c.status for c in stored.claims} == {"sent"}
    sent = (tmp_path / "out" / first.file_name).read_text()
    assert sent == batcher.batches.batch_file(first.batch_id).x12


async def test_the_schedule_cuts_and_sends_by_itself(
    database_engine: Engine, tmp_path: Path
) -> None:
    episode = release(database_engine)
    mailbox = tmp_path / "outbound"
    batcher = ClaimBatcher(SqlClaimBatches(database_engine), LocalDirectorySink(mailbox), SUBMITTER)
    stop = asyncio.Event()
    running = asyncio.create_task(batcher.run(0.05, stop))

    for _ in range(200):
        if mailbox.exists() and list(mailbox.iterdir()):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running

    [entry] = batcher.batches.outbox(episode_id=episode.episode_id)
    assert entry.status == "sent"


async def test_without_a_submitter_nothing_is_cut(database_engine: Engine, tmp_path: Path) -> None:
    episode = release(database_engine)
    batcher = ClaimBatcher(SqlClaimBatches(database_engine), LocalDirectorySink(tmp_path), None)

    with pytest.raises(ClaimsNotConfigured):
        await batcher.cut()

    [entry] = batcher.batches.outbox(episode_id=episode.episode_id)
    assert entry.status == "queued"

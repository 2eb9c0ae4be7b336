"""Figures 1 and 5: the no-op update round trip, and projection lag into the SQL read model."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.drive import Tick
from bench.episodes import approval, open_command, services_on, start_episode
from bench.noop import NoopWorkflow
from workflows.episode import EpisodeWorkflow


class Holders:
    """Running no-op workflows that answer `ping` updates; finished on exit."""

    def __init__(self, client: Client, queue: str, count: int) -> None:
        self._client, self._queue, self._count = client, queue, count
        self.handles: list[WorkflowHandle[Any, Any]] = []

    async def __aenter__(self) -> Holders:
        gate = asyncio.Semaphore(10)

        async def one() -> WorkflowHandle[Any, Any]:
            async with gate:
                wid = f"noop-hold-{uuid.uuid4().hex}"
                handle = await self._client.start_workflow(
                    NoopWorkflow.run, True, id=wid, task_queue=self._queue
                )
                await handle.execute_update(NoopWorkflow.ping, 0)
                return handle

        self.handles = list(await asyncio.gather(*(one() for _ in range(self._count))))
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(h.signal(NoopWorkflow.finish) for h in self.handles))

    async def ping(self, i: int) -> int:
        result: int = await self.handles[i % len(self.handles)].execute_update(NoopWorkflow.ping, i)
        return result


async def update_round_trips(holders: Holders, count: int, tick: Tick) -> list[float]:
    """One no-op update at a time: the server's floor for an acknowledged update."""
    latencies = []
    for i in range(count):
        began = time.perf_counter()
        await holders.ping(i)
        latencies.append(time.perf_counter() - began)
        tick()
    return latencies


async def projection_lags(
    client: Client, queue: str, database: Path, episodes: int, updates: int, tick: Tick
) -> list[float]:
    """Seconds from an update's answer (its event is in history) to the event's row in SQL."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=7)
    lags: list[float] = []
    with sqlite3.connect(database) as db:

        async def lane() -> None:
            command = open_command(start)
            handle = await start_episode(client, queue, command)
            await handle.execute_update(
                EpisodeWorkflow.apply_payer_decision, approval(command.episode_id, start)
            )
            for _ in range(updates):
                result = await handle.execute_update(
                    EpisodeWorkflow.record_services, services_on(start)
                )
                appended = time.perf_counter()
                assert result.version is not None
                await _row_visible(db, command.episode_id, result.version)
                lags.append(time.perf_counter() - appended)
                tick()

        await asyncio.gather(*(lane() for _ in range(episodes)))
    return lags


async def _row_visible(db: sqlite3.Connection, episode_id: str, seq: int) -> None:
    query = "SELECT 1 FROM episode_events WHERE episode_id = ? AND seq = ?"
    deadline = time.perf_counter() + 30
    while db.execute(query, (episode_id, seq)).fetchone() is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"event {episode_id}#{seq} never reached the read model")
        await asyncio.sleep(0.001)

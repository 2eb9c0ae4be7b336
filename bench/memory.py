"""Figure 6's memory half: worker RSS per cached running episode against a cached no-op."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from bench.drive import Tick
from bench.episodes import approval, lifecycle, open_command, start_episode
from bench.latency import Holders
from bench.procs import DevServer, start_worker
from bench.throughput import noop
from workflows.episode import EpisodeWorkflow


async def _open_authorized(client: Client, queue: str, count: int, tick: Tick) -> list[str]:
    """`count` authorized episodes left running, each cached by the worker after its update."""
    start = datetime.now(UTC).date() - timedelta(days=7)
    gate = asyncio.Semaphore(10)

    async def one() -> str:
        async with gate:
            command = open_command(start)
            handle = await start_episode(client, queue, command)
            await handle.execute_update(
                EpisodeWorkflow.apply_payer_decision, approval(command.episode_id, start)
            )
            tick()
            return handle.id

    return await asyncio.gather(*(one() for _ in range(count)))


async def memory_per_cached(
    server: DevServer, workdir: Path, count: int, tick: Tick
) -> dict[str, float]:
    """KiB of worker RSS per cached no-op and per cached episode, in a fresh worker."""
    client, queue = server.client, f"bench-mem-{uuid.uuid4().hex}"
    worker = await start_worker(server, workdir, queue)
    try:
        await noop(client, queue)
        await lifecycle(client, queue)  # imports and first-use caches, before any reading
        before = worker.rss_kib()
        async with Holders(client, queue, count):
            with_noops = worker.rss_kib()
            ids = await _open_authorized(client, queue, count, tick)
            with_episodes = worker.rss_kib()
        await asyncio.gather(*(client.get_workflow_handle(i).terminate("bench") for i in ids))
    finally:
        worker.stop()
        server.workers.remove(worker)
    return {
        "cached": float(count),
        "rss_before_kib": float(before),
        "kib_per_noop": (with_noops - before) / count,
        "kib_per_episode": (with_episodes - with_noops) / count,
    }

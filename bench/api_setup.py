"""Episodes the API figures act on: opened and projected, or authorized with services."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from bench.drive import Tick
from bench.episodes import LIFECYCLE_DAYS, open_command, services_on, start_episode
from workflows.episode import EpisodeWorkflow

CONCURRENCY = 20


async def opened_and_projected(
    client: Client, queue: str, database: Path, count: int, tick: Tick
) -> list[str]:
    """`count` episodes awaiting their first decision, each already in the read model (the
    webhook finds an episode by its trace number there)."""
    start = datetime.now(UTC).date() - timedelta(days=LIFECYCLE_DAYS)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> str:
        async with gate:
            command = open_command(start)
            await start_episode(client, queue, command)
            await _projected(database, command.episode_id)
            tick()
            return command.episode_id

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _projected(database: Path, episode_id: str) -> None:
    with sqlite3.connect(database) as db:
        query = "SELECT 1 FROM episodes WHERE episode_id = ? AND trace_number IS NOT NULL"
        for _ in range(3000):
            if db.execute(query, (episode_id,)).fetchone():
                return
            await asyncio.sleep(0.01)
    raise TimeoutError(f"episode {episode_id} never reached the read model")


async def authorized_with_services(
    client: Client, episode_ids: list[str], days: int, tick: Tick
) -> list[tuple[str, str, str]]:
    """One service a day on `days` days of each authorized episode: (episode, claim, through)
    for a claim per day, in an order that releases each episode's days oldest first."""
    start = datetime.now(UTC).date() - timedelta(days=LIFECYCLE_DAYS)
    claims: list[tuple[str, str, str]] = []
    for episode_id in episode_ids:
        handle = client.get_workflow_handle(f"episode-{episode_id}")
        for n in range(days):
            day = start + timedelta(days=n)
            await handle.execute_update(EpisodeWorkflow.record_services, services_on(day))
            claims.append((episode_id, f"C-{n}", day.isoformat()))
        tick()
    return claims

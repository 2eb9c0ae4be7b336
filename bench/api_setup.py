"""Episodes the API figures act on: opened and projected, or authorized with services."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text
from temporalio.client import Client

from bench.drive import Tick
from bench.episodes import LIFECYCLE_DAYS, approval, open_command, services_on, start_episode
from workflows.episode import EpisodeWorkflow

CONCURRENCY = 20


async def opened_and_projected(
    client: Client,
    queue: str,
    read_model: Engine,
    count: int,
    tick: Tick,
    start: date | None = None,
) -> list[str]:
    """`count` episodes awaiting their first decision (their payer deadline timer running),
    each already in the read model (the webhook finds an episode by its trace number there)."""
    start = start or datetime.now(UTC).date() - timedelta(days=LIFECYCLE_DAYS)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> str:
        async with gate:
            command = open_command(start)
            await start_episode(client, queue, command)
            await projected(read_model, command.episode_id)
            tick()
            return command.episode_id

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def projected(read_model: Engine, episode_id: str, timeout: float = 60) -> None:
    query = text("SELECT 1 FROM episodes WHERE episode_id = :id AND trace_number IS NOT NULL")
    for _ in range(int(timeout / 0.02)):
        with read_model.connect() as db:
            if db.execute(query, {"id": episode_id}).first():
                return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"episode {episode_id} never reached the read model")


async def authorized(client: Client, queue: str, count: int) -> list[str]:
    """`count` episodes opened and approved straight through Temporal (no API)."""
    start = datetime.now(UTC).date() - timedelta(days=LIFECYCLE_DAYS)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> str:
        async with gate:
            command = open_command(start)
            handle = await start_episode(client, queue, command)
            decision = approval(command.episode_id, start)
            await handle.execute_update(EpisodeWorkflow.apply_payer_decision, decision)
            return command.episode_id

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def with_services(
    client: Client, episode_ids: list[str], days: int
) -> list[tuple[str, str, str]]:
    """One service a day on `days` days of each authorized episode; (episode, claim, through)
    for a claim per day, round robin over the episodes: an episode's days come oldest first
    and `len(episode_ids)` claims apart, so at any rate they reach it in order."""
    start = datetime.now(UTC).date() - timedelta(days=LIFECYCLE_DAYS)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(episode_id: str) -> None:
        async with gate:
            handle = client.get_workflow_handle(f"episode-{episode_id}")
            for n in range(days):
                day = start + timedelta(days=n)
                await handle.execute_update(EpisodeWorkflow.record_services, services_on(day))

    await asyncio.gather(*(one(e) for e in episode_ids))
    return [
        (episode_id, f"C-{n}", (start + timedelta(days=n)).isoformat())
        for n in range(days)
        for episode_id in episode_ids
    ]

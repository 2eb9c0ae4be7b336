"""After a fault, the record must still verify: `stepdown events verify`'s checks per episode."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.client import Client

from devstack.records import compare_live
from store.event_store import SqlEventStore
from store.phi import PhiCipher
from store.sql import SqlReadModel
from store.verify import EpisodeCheck, check_stored


async def record_problems(
    client: Client, engine: Engine, episode_ids: list[str], cipher: PhiCipher | None = None
) -> list[str]:
    """Every chain, seq run, fold and live comparison difference of these episodes; `cipher`
    opens the PHI the episodes' worker sealed."""
    store, read_model = SqlEventStore(engine, cipher), SqlReadModel(engine, cipher)
    problems: list[str] = []
    for episode_id in episode_ids:

        def recheck(episode_id: str = episode_id) -> EpisodeCheck:
            return check_stored(store, read_model, episode_id)

        check = await asyncio.to_thread(check_stored, store, read_model, episode_id)
        check = await compare_live(client, check, recheck)
        problems += check.problems
    return problems

"""A worker process whose payer hangs inside the first attempt of each submission, to be killed.

Usage: python -m tests.faults.payer_worker ADDRESS TASK_QUEUE STATE_FILE DATABASE_URL
The payer lives in STATE_FILE and the event store at DATABASE_URL (both SQLite files), so
they outlive the process.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from temporalio.client import Client

from activities.episode import EpisodeActivities
from activities.ports import PayerReceipt, PayerRequest
from store.db import make_engine
from store.sql import SqlReadModel
from tests.support.fakes import RecordingClaimsOutbox, RecordingNotifier
from tests.support.file_state import FileState
from worker import build_worker, run_until_stopped
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER

PAYER_SCHEMA = """
create table if not exists attempts (key text not null, attempt integer not null,
                                     primary key (key, attempt));
create table if not exists accepted (key text primary key, times integer not null);
"""


class BlockingPayer(FileState):
    """A payer that takes each idempotency key once; a first attempt hangs before it answers."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        with self._db() as db:
            db.executescript(PAYER_SCHEMA)

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        key = request.idempotency_key
        with self._db() as db:
            query = "select count(*) + 1 from attempts where key = ?"
            attempt: int = db.execute(query, (key,)).fetchone()[0]
            db.execute("insert into attempts values (?, ?)", (key, attempt))
        if attempt == 1:
            await asyncio.Event().wait()  # the worker is killed while this call is open
        with self._db() as db:
            db.execute(
                "insert into accepted values (?, 1) on conflict(key) do update "
                "set times = times + 1",
                (key,),
            )
        return PayerReceipt(trace_number=request.trace_number, accepted=True)

    def attempts(self) -> dict[str, int]:
        with self._db() as db:
            rows = db.execute("select key, count(*) from attempts group by key").fetchall()
        return dict(rows)

    def accepted(self) -> dict[str, int]:
        with self._db() as db:
            return dict(db.execute("select key, times from accepted").fetchall())

    def seqs(self, episode_id: str) -> list[int]:
        with self._db() as db:
            query = "select seq from events where episode_id = ? order by seq"
            return [row[0] for row in db.execute(query, (episode_id,))]


async def main(address: str, task_queue: str, state_file: str, database_url: str) -> None:
    payer = BlockingPayer(Path(state_file))
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    # The events project into a real event store (SQLite, migrated by the scenario), so the
    # scenario can verify every chain after the kills.
    read_model = SqlReadModel(make_engine(database_url))
    activities = EpisodeActivities(payer, read_model, RecordingNotifier(), RecordingClaimsOutbox())
    worker = build_worker(client, activities, [EpisodeWorkflow], task_queue)
    sys.stdout.write("ready\n")  # the scenario waits for this line
    sys.stdout.flush()
    await run_until_stopped(worker)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

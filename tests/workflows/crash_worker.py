"""A worker process for the crash test: its payer gateway and read model live in a SQLite file.

Usage: python -m tests.workflows.crash_worker ADDRESS TASK_QUEUE STATE_FILE
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client

from activities.episode import EpisodeActivities
from activities.ports import PayerReceipt, PayerRequest
from domain.views import ClaimView, EpisodeSummary, StoredEvent
from tests.support.fakes import RecordingClaimsOutbox, RecordingNotifier
from worker import build_worker, run_until_stopped
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER

SCHEMA = """
create table if not exists submissions (key text primary key, calls integer not null);
create table if not exists events (episode_id text, seq integer, type text,
                                   primary key (episode_id, seq));
"""


class FileState:
    """Outlives the process: what the payer saw and what the read model stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        with self._db() as db:
            db.execute(
                "insert into submissions values (?, 1) on conflict(key) do update "
                "set calls = calls + 1",
                (request.idempotency_key,),
            )
        return PayerReceipt(trace_number=request.trace_number, accepted=True)

    def apply(
        self, summary: EpisodeSummary, events: Sequence[StoredEvent], claims: Sequence[ClaimView]
    ) -> int:
        rows = [(summary.episode_id, e.seq, e.type) for e in events]
        with self._db() as db:
            before = db.total_changes
            db.executemany("insert or ignore into events values (?, ?, ?)", rows)
            return db.total_changes - before

    def report(self) -> dict[str, object]:
        with self._db() as db:
            subs = dict(db.execute("select key, calls from submissions").fetchall())
            seqs = [r[0] for r in db.execute("select seq from events order by seq")]
        return {"submissions": subs, "seqs": seqs}


async def main(address: str, task_queue: str, state_file: str) -> None:
    state = FileState(Path(state_file))
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    acts = EpisodeActivities(state, state, RecordingNotifier(), RecordingClaimsOutbox())
    worker = build_worker(client, acts, [EpisodeWorkflow], task_queue)
    print("ready", flush=True)  # the test waits for this line
    await run_until_stopped(worker)


if __name__ == "__main__":
    if sys.argv[1] == "report":
        print(json.dumps(FileState(Path(sys.argv[2])).report()))
    else:
        asyncio.run(main(*sys.argv[1:4]))

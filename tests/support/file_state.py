"""A payer gateway and read model kept in a SQLite file, so they outlive a worker process."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from activities.ports import PayerReceipt, PayerRequest
from domain.views import ClaimView, EpisodeSummary, StoredEvent

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

"""Failed-attempt counts per key in fixed windows, in the database or (no database) in memory.

A key's window opens at its first failure and lasts `window` seconds; a failure after it
ends opens a new one at 1. Every API replica writes the same rows, so a key's count is the
same whichever replica its attempts reach, and a restart forgets nothing.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, case, delete, select

from store.db import dialect_insert, session_factory
from store.schema import ThrottleWindowRow

# Past this many keys, the in-memory counts forget expired windows first (bounded memory).
MAX_MEMORY_KEYS = 10_000


@dataclass(frozen=True)
class Window:
    started_at: float
    failures: int


class ThrottleCounts(Protocol):
    def window(self, scope: str, key: str, length: float, now: float) -> Window | None:
        """The key's current window, or None when it has none that is still open at `now`."""
        ...

    def fail(self, scope: str, key: str, length: float, now: float) -> Window:
        """Counts one failure at `now`, in the open window or in a new one; returns it."""
        ...

    def clear(self, scope: str, key: str) -> None: ...


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SqlThrottleCounts:
    """One row per scope and key; the count goes up in one atomic upsert (PostgreSQL's and
    SQLite's `INSERT … ON CONFLICT DO UPDATE`), so replicas failing at once lose no count."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)

    def window(self, scope: str, key: str, length: float, now: float) -> Window | None:
        query = select(ThrottleWindowRow.started_at, ThrottleWindowRow.failures).where(
            ThrottleWindowRow.scope == scope,
            ThrottleWindowRow.key_hash == key_hash(key),
            ThrottleWindowRow.started_at > now - length,
        )
        with self._sessions.begin() as session:
            row = session.execute(query).one_or_none()
        return Window(row.started_at, row.failures) if row else None

    def fail(self, scope: str, key: str, length: float, now: float) -> Window:
        table = ThrottleWindowRow.__table__
        expired = table.c.started_at <= now - length
        statement = (
            self._insert(table)
            .values(scope=scope, key_hash=key_hash(key), started_at=now, failures=1)
            .on_conflict_do_update(
                index_elements=[table.c.scope, table.c.key_hash],
                set_={
                    # Both read the row as it was: SET expressions see the old values.
                    "started_at": case((expired, now), else_=table.c.started_at),
                    "failures": case((expired, 1), else_=table.c.failures + 1),
                },
            )
            .returning(table.c.started_at, table.c.failures)
        )
        with self._sessions.begin() as session:
            row = session.execute(statement).one()
            if row.failures == 1:
                # A new window: windows of this scope that ended are forgotten meanwhile.
                session.execute(
                    delete(ThrottleWindowRow).where(
                        ThrottleWindowRow.scope == scope,
                        ThrottleWindowRow.started_at <= now - length,
                    )
                )
        return Window(row.started_at, row.failures)

    def clear(self, scope: str, key: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(ThrottleWindowRow).where(
                    ThrottleWindowRow.scope == scope, ThrottleWindowRow.key_hash == key_hash(key)
                )
            )


class MemoryThrottleCounts:
    """The same counts in this process only: for apps built without a database."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], Window] = {}
        self._lock = threading.Lock()

    def window(self, scope: str, key: str, length: float, now: float) -> Window | None:
        with self._lock:
            found = self._windows.get((scope, key))
        return found if found is not None and found.started_at > now - length else None

    def fail(self, scope: str, key: str, length: float, now: float) -> Window:
        with self._lock:
            found = self._windows.get((scope, key))
            if found is None or found.started_at <= now - length:
                if len(self._windows) >= MAX_MEMORY_KEYS:
                    self._forget(now - length)
                found = Window(now, 1)
            else:
                found = Window(found.started_at, found.failures + 1)
            self._windows[(scope, key)] = found
            return found

    def clear(self, scope: str, key: str) -> None:
        with self._lock:
            self._windows.pop((scope, key), None)

    def _forget(self, horizon: float) -> None:
        for key in [k for k, w in self._windows.items() if w.started_at <= horizon]:
            del self._windows[key]
        if len(self._windows) >= MAX_MEMORY_KEYS:
            self._windows.pop(next(iter(self._windows)))

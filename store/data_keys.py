"""Episode data keys: the envelope of the event store's sealed PHI (store/phi.py, DataKey).

An episode's key is made with its first sealed event, in the same transaction, and stored
wrapped by the active payload key; `rewrap` moves every key row to the active payload key
after a rotation. Opening an event needs its episode's key only when the event holds PHI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.phi import DataKey, PhiCipher, UnreadablePhi, needs_key, open_event_data
from store.schema import EpisodeDataKeyRow

Executor = Session | Connection


def _insert(executor: Executor) -> Any:
    dialect = (
        executor.get_bind().dialect.name
        if isinstance(executor, Session)
        else (executor.dialect.name)
    )
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def data_key(executor: Executor, cipher: PhiCipher, episode_id: str) -> DataKey | None:
    """The episode's data key, or None when it has none yet."""
    query = select(EpisodeDataKeyRow.wrapped).where(EpisodeDataKeyRow.episode_id == episode_id)
    wrapped = executor.execute(query).scalar_one_or_none()
    return None if wrapped is None else cipher.unwrap_key(episode_id, wrapped)


def ensure_data_key(executor: Executor, cipher: PhiCipher, episode_id: str) -> DataKey:
    """The episode's data key, made and stored (wrapped) when it has none yet.

    Two writers racing for a new episode both insert-or-nothing, then read the one stored:
    both seal with the same key.
    """
    found = data_key(executor, cipher, episode_id)
    if found is not None:
        return found
    _, raw = DataKey.generate(episode_id)
    stmt = (
        _insert(executor)(EpisodeDataKeyRow)
        .values(
            episode_id=episode_id,
            kid=cipher.active_key_id,
            wrapped=cipher.wrap_key(episode_id, raw),
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=[EpisodeDataKeyRow.episode_id])
    )
    executor.execute(stmt)
    stored = data_key(executor, cipher, episode_id)
    assert stored is not None
    return stored


def open_data(
    executor: Executor, cipher: PhiCipher | None, episode_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """One stored event's data in the clear (the data key is read only when needed)."""
    if not needs_key(data):
        return open_event_data(cipher, data)
    if cipher is None:
        raise UnreadablePhi("the store holds sealed PHI but no payload key is configured")
    key = data_key(executor, cipher, episode_id)
    if key is None:
        raise UnreadablePhi(f"{episode_id}: its data key is gone; its sealed PHI is unreadable")
    return open_event_data(cipher, data, key)


def rewrap(executor: Executor, cipher: PhiCipher) -> int:
    """Wraps every data key not under the active payload key with it; returns how many."""
    query = select(EpisodeDataKeyRow.episode_id, EpisodeDataKeyRow.wrapped).where(
        EpisodeDataKeyRow.kid != cipher.active_key_id
    )
    done = 0
    for episode_id, wrapped in executor.execute(query).all():
        raw = cipher.open_bytes(wrapped, f"episode_key.{episode_id}")
        executor.execute(
            update(EpisodeDataKeyRow)
            .where(EpisodeDataKeyRow.episode_id == episode_id)
            .values(kid=cipher.active_key_id, wrapped=cipher.wrap_key(episode_id, raw))
        )
        done += 1
    return done

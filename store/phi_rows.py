"""Sealing the PHI already stored: plain rows (before encryption) and rows under a retired key.

Run by the migration that introduced encryption (when payload keys are configured) and by
`stepdown phi reencrypt` after a key rotation; safe to run again, it touches only stale rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from store.phi import (
    PhiCipher,
    index_digest,
    open_event_data,
    seal_event_data,
    searchable_values,
)
from store.schema import EventRow, InboxRow, PhiIndexRow
from store.sql_inbox import BODY_PURPOSE

# The event types whose data carries PHI (store.phi.PHI_KEYS).
PHI_EVENTS = ("episode_opened",)


@dataclass(frozen=True)
class Resealed:
    events: int
    bodies: int


def reseal(connection: Connection, cipher: PhiCipher) -> Resealed:
    """Seals every stale PHI value under the active key and re-indexes its episode."""
    return Resealed(_events(connection, cipher), _bodies(connection, cipher))


def _events(connection: Connection, cipher: PhiCipher) -> int:
    query = select(EventRow.episode_id, EventRow.seq, EventRow.data).where(
        EventRow.type.in_(PHI_EVENTS)
    )
    done = 0
    for episode_id, seq, data in connection.execute(query).all():
        if not any(cipher.stale(data[key]) for key in data if key == "patient"):
            continue
        plain = open_event_data(cipher, data)
        connection.execute(
            update(EventRow)
            .where(EventRow.episode_id == episode_id, EventRow.seq == seq)
            .values(data=seal_event_data(cipher, plain))
        )
        _reindex(connection, cipher, episode_id, plain)
        done += 1
    return done


def _reindex(
    connection: Connection, cipher: PhiCipher, episode_id: str, plain: dict[str, object]
) -> None:
    connection.execute(delete(PhiIndexRow).where(PhiIndexRow.episode_id == episode_id))
    rows = [
        {"episode_id": episode_id, "field": field, "digest": index_digest(cipher, field, value)}
        for field, value in searchable_values(plain)
    ]
    if rows:
        connection.execute(insert(PhiIndexRow), rows)


def _bodies(connection: Connection, cipher: PhiCipher) -> int:
    done = 0
    for row_id, body in connection.execute(select(InboxRow.id, InboxRow.body)).all():
        if not cipher.stale(body):
            continue
        plain = cipher.open_bytes(body, BODY_PURPOSE)
        sealed = cipher.seal_bytes(plain, BODY_PURPOSE)
        connection.execute(update(InboxRow).where(InboxRow.id == row_id).values(body=sealed))
        done += 1
    return done


def unseal(connection: Connection, cipher: PhiCipher) -> Resealed:
    """Writes every sealed value back in plain form (the downgrade of encryption at rest)."""
    events = 0
    query = select(EventRow.episode_id, EventRow.seq, EventRow.data).where(
        EventRow.type.in_(PHI_EVENTS)
    )
    for episode_id, seq, data in connection.execute(query).all():
        plain = open_event_data(cipher, data)
        if plain is not data:
            connection.execute(
                update(EventRow)
                .where(EventRow.episode_id == episode_id, EventRow.seq == seq)
                .values(data=plain)
            )
            events += 1
    bodies = 0
    for row_id, body in connection.execute(select(InboxRow.id, InboxRow.body)).all():
        plain_body = cipher.open_bytes(body, BODY_PURPOSE)
        if plain_body is not body:
            connection.execute(
                update(InboxRow).where(InboxRow.id == row_id).values(body=plain_body)
            )
            bodies += 1
    return Resealed(events, bodies)

"""Sealing the PHI already stored: plain rows (before encryption) and rows under a retired key.

`reseal` is `stepdown db reencrypt` after a key rotation: it re-wraps the episodes' data keys
(the event store itself is never rewritten: its PHI is sealed under those keys, store/phi.py),
re-seals the inbox bodies, the claims outbox's billing, the 837I batch files, the submitted
payloads and answers and the X12 278 files, and re-derives the blind indexes and search keys
under the active key. Safe to run again: it rewrites only stale sealed values.

`envelope_events` is revision 0150's one-time conversion of event data sealed directly with
the keyring (or plain) to envelope encryption; `seal_v1`/`unseal` belong to revision 0140.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from temporalio.api.common.v1 import Payload

from domain.views import StoredEvent
from store.data_keys import ensure_data_key, open_data, rewrap
from store.phi import (
    PHI_KEYS,
    PhiCipher,
    has_phi,
    index_digest,
    is_enveloped,
    is_sealed,
    open_event_data,
    seal_event_data,
    searchable_values,
)
from store.schema import (
    AttachmentRow,
    ClaimBatchRow,
    ClaimOutboxRow,
    EventRow,
    InboxRow,
    NoteRow,
    PhiIndexRow,
    SearchKeyRow,
    SubmissionRow,
    X12SubmissionRow,
)
from store.search import episode_keys
from store.sql_inbox import BODY_PURPOSE
from workflows.codec import KEY_ID, EncryptionCodec

# The event types whose data carries PHI (store.phi.PHI_KEYS).
PHI_EVENTS = ("episode_opened",)
# The event types that make an episode findable (store/search.py).
SEARCH_EVENTS = ("episode_opened", "authorization_requested", "authorization_granted")


@dataclass(frozen=True)
class Resealed:
    events: int
    bodies: int


@dataclass(frozen=True)
class Rotated:
    """What `reseal` moved to the active key (each count: rows rewritten)."""

    data_keys: int
    bodies: int
    billing: int
    batches: int
    submissions: int
    x12_files: int
    indexed_episodes: int
    # Notes and attachments (name and content), sealed with the payload codec.
    notes: int = 0
    attachments: int = 0
    # Events written without payload keys: their PHI stays as written (append-only store).
    plain_events: int = 0

    def describe(self) -> str:
        plain = (
            f"; {self.plain_events} event(s) written without payload keys stay plain "
            "(the event store is append-only)"
            if self.plain_events
            else ""
        )
        return (
            f"{self.data_keys} episode data key(s), {self.bodies} inbox body(ies), "
            f"{self.billing} outbox billing(s), {self.batches} 837I batch(es), "
            f"{self.submissions} submission(s), {self.x12_files} X12 file(s), "
            f"{self.notes} note(s), {self.attachments} attachment(s); "
            f"{self.indexed_episodes} episode(s) re-indexed{plain}"
        )


def reseal(
    connection: Connection, cipher: PhiCipher, codec: EncryptionCodec | None = None
) -> Rotated:
    """Moves every stale sealed value to the active key and re-indexes every episode.

    Event rows are not touched (the database refuses it): their data keys are re-wrapped.
    With `codec` (the payload codec of the same keys), notes and attachments too.
    """
    notes = attachments = 0
    if codec is not None:
        notes = _codec_column(connection, codec, NoteRow.id, NoteRow.sealed)
        attachments = _codec_column(
            connection, codec, AttachmentRow.id, AttachmentRow.sealed_name
        ) + _codec_column(connection, codec, AttachmentRow.id, AttachmentRow.sealed)
    return Rotated(
        notes=notes,
        attachments=attachments,
        data_keys=rewrap(connection, cipher),
        bodies=_bodies(connection, cipher),
        billing=_billing(connection, cipher),
        batches=_text_column(connection, cipher, ClaimBatchRow.batch_id, ClaimBatchRow.x12),
        submissions=_submissions(connection, cipher),
        x12_files=_x12_files(connection, cipher),
        indexed_episodes=reindex(connection, cipher),
        plain_events=_plain_events(connection),
    )


def _plain_events(connection: Connection) -> int:
    query = select(EventRow.data).where(EventRow.type.in_(PHI_EVENTS))
    return sum(
        1
        for data in connection.scalars(query)
        if any(k in PHI_KEYS and not is_enveloped(v) and not is_sealed(v) for k, v in data.items())
    )


def _codec_column(connection: Connection, codec: EncryptionCodec, key: Any, column: Any) -> int:
    """Re-seals one column of payloads sealed with the codec (store/notes.py) if stale."""
    done = 0
    for row_key, sealed in connection.execute(select(key, column)).all():
        payload = Payload.FromString(sealed)
        if payload.metadata.get(KEY_ID, b"").decode(errors="replace") == codec.active_key_id:
            continue
        fresh = codec.encrypt(codec.decrypt(payload)).SerializeToString()
        connection.execute(update(column.class_).where(key == row_key).values({column.key: fresh}))
        done += 1
    return done


def _billing(connection: Connection, cipher: PhiCipher) -> int:
    from store.claims_queue import BILLING_PURPOSE, open_billing

    key = (ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id)
    done = 0
    for episode_id, claim_id, billing in connection.execute(
        select(*key, ClaimOutboxRow.billing)
    ).all():
        if not cipher.stale(billing):
            continue
        sealed = cipher.seal(open_billing(cipher, billing), BILLING_PURPOSE)
        connection.execute(
            update(ClaimOutboxRow)
            .where(ClaimOutboxRow.episode_id == episode_id, ClaimOutboxRow.claim_id == claim_id)
            .values(billing=sealed)
        )
        done += 1
    return done


def _text_column(connection: Connection, cipher: PhiCipher, key: Any, column: Any) -> int:
    from store.claims_queue import X12_PURPOSE

    table = column.class_
    done = 0
    for row_key, text in connection.execute(select(key, column)).all():
        if text is None or not cipher.stale(text):
            continue
        plain = cipher.open_text(text, X12_PURPOSE)
        connection.execute(
            update(table)
            .where(key == row_key)
            .values({column.key: cipher.seal_text(plain, X12_PURPOSE)})
        )
        done += 1
    return done


def _submissions(connection: Connection, cipher: PhiCipher) -> int:
    from store.sql_payers import PAYLOAD_PURPOSE, RESPONSE_PURPOSE

    done = 0
    query = select(SubmissionRow.id, SubmissionRow.payload, SubmissionRow.response)
    for row_id, payload, response in connection.execute(query).all():
        changes = {
            name: cipher.seal_text(cipher.open_text(value, purpose), purpose)
            for name, value, purpose in (
                ("payload", payload, PAYLOAD_PURPOSE),
                ("response", response, RESPONSE_PURPOSE),
            )
            if value is not None and cipher.stale(value)
        }
        if changes:
            connection.execute(
                update(SubmissionRow).where(SubmissionRow.id == row_id).values(changes)
            )
            done += 1
    return done


def _x12_files(connection: Connection, cipher: PhiCipher) -> int:
    from store.x12_ledger import BODY_PURPOSE as X12_BODY

    done = 0
    for row_id, body in connection.execute(
        select(X12SubmissionRow.id, X12SubmissionRow.body)
    ).all():
        if not cipher.stale(body):
            continue
        sealed = cipher.seal_bytes(cipher.open_bytes(body, X12_BODY), X12_BODY)
        connection.execute(
            update(X12SubmissionRow).where(X12SubmissionRow.id == row_id).values(body=sealed)
        )
        done += 1
    return done


def _stored_events(
    connection: Connection, cipher: PhiCipher | None, types: tuple[str, ...]
) -> dict[str, list[StoredEvent]]:
    query = (
        select(EventRow.episode_id, EventRow.seq, EventRow.type, EventRow.at, EventRow.data)
        .where(EventRow.type.in_(types))
        .order_by(EventRow.episode_id, EventRow.seq)
    )
    found: dict[str, list[StoredEvent]] = {}
    for row in connection.execute(query).all():
        data = open_data(connection, cipher, row.episode_id, row.data)
        found.setdefault(row.episode_id, []).append(
            StoredEvent(seq=row.seq, type=row.type, at=row.at, data=data)
        )
    return found


def reindex(
    connection: Connection,
    cipher: PhiCipher | None,
    token: Callable[[PhiCipher | None, str], str] | None = None,
) -> int:
    """Writes every episode's blind indexes and search keys again, from its stored events.

    A keyed digest cannot be re-keyed without the value, so the values come from the event
    store (opened with the data keys). `token` is how a search key is stored; by default its
    keyed digest (store/phi.py, search_token).
    """
    from store.phi import search_token

    stored_as = token or search_token
    events = _stored_events(connection, cipher, SEARCH_EVENTS)
    connection.execute(delete(SearchKeyRow))
    for episode_id, episode_events in events.items():
        keys = {(kind, stored_as(cipher, key)) for kind, key in episode_keys(episode_events)}
        if keys:
            connection.execute(
                insert(SearchKeyRow),
                [{"episode_id": episode_id, "kind": k, "key": v} for k, v in sorted(keys)],
            )
        opened = [e for e in episode_events if e.type in PHI_EVENTS]
        if opened:
            _reindex(connection, cipher, episode_id, opened[0].data)
    return len(events)


def envelope_events(connection: Connection, cipher: PhiCipher) -> int:
    """Revision 0150's conversion: event PHI (plain, or sealed directly with the keyring)
    sealed again under its episode's data key. Runs only while the append-only trigger is
    dropped by that revision; returns how many events it rewrote."""
    query = select(EventRow.episode_id, EventRow.seq, EventRow.data).where(
        EventRow.type.in_(PHI_EVENTS)
    )
    done = 0
    for episode_id, seq, data in connection.execute(query).all():
        if not has_phi(data) or all(is_enveloped(v) for k, v in data.items() if k == "patient"):
            continue
        key = ensure_data_key(connection, cipher, episode_id)
        plain = open_event_data(cipher, data)
        connection.execute(
            update(EventRow)
            .where(EventRow.episode_id == episode_id, EventRow.seq == seq)
            .values(data=seal_event_data(key, plain))
        )
        done += 1
    return done


def unenvelope_events(connection: Connection, cipher: PhiCipher) -> int:
    """The downgrade of `envelope_events`: event PHI sealed directly with the keyring again."""
    query = select(EventRow.episode_id, EventRow.seq, EventRow.data).where(
        EventRow.type.in_(PHI_EVENTS)
    )
    done = 0
    for episode_id, seq, data in connection.execute(query).all():
        if not any(is_enveloped(v) for v in data.values()):
            continue
        plain = open_data(connection, cipher, episode_id, data)
        sealed = {
            k: cipher.seal(v, f"event.{k}") if k == "patient" else v for k, v in plain.items()
        }
        connection.execute(
            update(EventRow)
            .where(EventRow.episode_id == episode_id, EventRow.seq == seq)
            .values(data=sealed)
        )
        done += 1
    return done


def unseal_columns(connection: Connection, cipher: PhiCipher) -> None:
    """The downgrade of revision 0150's column sealing: the four columns in plain form."""
    from store.claims_queue import X12_PURPOSE, open_billing
    from store.sql_payers import PAYLOAD_PURPOSE, RESPONSE_PURPOSE
    from store.x12_ledger import BODY_PURPOSE as X12_BODY

    for episode_id, claim_id, billing in connection.execute(
        select(ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id, ClaimOutboxRow.billing)
    ).all():
        if is_sealed(billing):
            connection.execute(
                update(ClaimOutboxRow)
                .where(ClaimOutboxRow.episode_id == episode_id, ClaimOutboxRow.claim_id == claim_id)
                .values(billing=open_billing(cipher, billing))
            )
    for batch_id, x12 in connection.execute(select(ClaimBatchRow.batch_id, ClaimBatchRow.x12)):
        connection.execute(
            update(ClaimBatchRow)
            .where(ClaimBatchRow.batch_id == batch_id)
            .values(x12=cipher.open_text(x12, X12_PURPOSE))
        )
    query = select(SubmissionRow.id, SubmissionRow.payload, SubmissionRow.response)
    for row_id, payload, response in connection.execute(query).all():
        connection.execute(
            update(SubmissionRow)
            .where(SubmissionRow.id == row_id)
            .values(
                payload=None if payload is None else cipher.open_text(payload, PAYLOAD_PURPOSE),
                response=None if response is None else cipher.open_text(response, RESPONSE_PURPOSE),
            )
        )
    for row_id, body in connection.execute(select(X12SubmissionRow.id, X12SubmissionRow.body)):
        connection.execute(
            update(X12SubmissionRow)
            .where(X12SubmissionRow.id == row_id)
            .values(body=cipher.open_bytes(body, X12_BODY))
        )


def seal_v1(connection: Connection, cipher: PhiCipher) -> Resealed:
    """Revision 0140's sealing (event data directly under the keyring, inbox bodies), kept
    as it was: that revision runs before the data keys and search keys exist."""
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
            .values(
                data={
                    k: cipher.seal(v, f"event.{k}") if k == "patient" else v
                    for k, v in plain.items()
                }
            )
        )
        _reindex(connection, cipher, episode_id, plain)
        done += 1
    return done


def _reindex(
    connection: Connection, cipher: PhiCipher | None, episode_id: str, plain: dict[str, object]
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

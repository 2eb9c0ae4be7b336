"""SQL adapter of the webhook inbox: every delivery kept once, with its first answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Engine, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from store.db import dialect_insert, session_factory
from store.phi import BODY_MAGIC, PhiCipher, UnreadablePhi
from store.ports import PENDING_STATUSES, AuditEntry, InboxEntry, InboxStatus, UnknownDelivery
from store.schema import AuditRow, InboxRow, NullableJSON, SignatureRow

# The AES-GCM associated data of inbox bodies: a body sealed here opens nowhere else.
BODY_PURPOSE = "inbox.body"


def inbox_entry(
    row: InboxRow, cipher: PhiCipher | None = None, *, with_body: bool = True
) -> InboxEntry:
    """The entry of `row`, its body opened; `with_body=False` (the worklist) leaves it out."""
    entry = InboxEntry.model_validate(row, from_attributes=True)
    if not with_body:
        return entry.model_copy(update={"body": b""})
    if not entry.body.startswith(BODY_MAGIC):
        return entry
    if cipher is None:
        raise UnreadablePhi("the inbox holds sealed bodies but no payload key is configured")
    return entry.model_copy(update={"body": cipher.open_bytes(entry.body, BODY_PURPOSE)})


class SqlWebhookInbox:
    """`cipher` seals bodies at rest (member ids, diagnoses); without it they are kept plain."""

    def __init__(self, engine: Engine, cipher: PhiCipher | None = None) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)
        self._cipher = cipher

    def receive(
        self,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
    ) -> tuple[InboxEntry, bool]:
        with self._sessions.begin() as session:
            return self._receive(
                session, delivery_id, payer_id, content_type, headers, body, received_at
            )

    def receive_signed(
        self,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
        signature: str,
    ) -> tuple[InboxEntry | None, bool, str]:
        # One transaction (one commit) for the signature and the row: both are kept, or
        # neither, and a delivery costs one write less.
        with self._sessions.begin() as session:
            first = self._remember(session, payer_id, signature, delivery_id, received_at)
            if first != delivery_id:
                return None, False, first
            entry, stored = self._receive(
                session, delivery_id, payer_id, content_type, headers, body, received_at
            )
            return entry, stored, first

    def _receive(
        self,
        session: Session,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
    ) -> tuple[InboxEntry, bool]:
        stmt = (
            self._insert(InboxRow)
            .values(
                delivery_id=delivery_id,
                payer_id=payer_id,
                content_type=content_type,
                headers=headers,
                body=body if self._cipher is None else self._cipher.seal_bytes(body, BODY_PURPOSE),
                received_at=received_at,
                status="received",
                attempts=0,
                updated_at=received_at,
            )
            # A concurrent receive of the same delivery waits here, then finds its row.
            .on_conflict_do_nothing(index_elements=[InboxRow.payer_id, InboxRow.delivery_id])
            .returning(InboxRow.id)
        )
        inserted = session.execute(stmt).first() is not None
        stored = session.scalars(
            select(InboxRow).where(
                InboxRow.delivery_id == delivery_id, InboxRow.payer_id == payer_id
            )
        )
        return inbox_entry(stored.one(), self._cipher), inserted

    def mark(
        self,
        delivery_id: str,
        status: InboxStatus,
        *,
        episode_id: str | None = None,
        error: str | None = None,
        response: dict[str, Any] | None = None,
        payer_id: str | None = None,
        trace_number: str | None = None,
        replace_response: bool = False,
        audit: AuditEntry | None = None,
    ) -> InboxEntry:
        changes: dict[str, Any] = {"status": status, "updated_at": datetime.now(UTC)}
        if status == "queued":
            changes["attempts"] = InboxRow.attempts + 1
        if episode_id is not None:
            changes["episode_id"] = episode_id
        if error is not None:
            changes["last_error"] = error
        if trace_number is not None:
            changes["trace_number"] = trace_number
        if response is not None and replace_response:
            changes["response"] = type_coerce(response, NullableJSON)
        elif response is not None:
            # Only the first answer is kept: a redelivery must hear exactly what the payer heard.
            changes["response"] = func.coalesce(
                InboxRow.response, type_coerce(response, NullableJSON)
            )
        with self._sessions.begin() as session:
            row_id = _row_id(session, delivery_id, payer_id)
            if row_id is None:
                raise UnknownDelivery(delivery_id)
            # One UPDATE, not read-then-write, so concurrent marks serialise on the row lock.
            stmt = update(InboxRow).where(InboxRow.id == row_id).values(changes)
            row = session.scalars(stmt.returning(InboxRow)).one()
            if audit is not None:
                session.add(AuditRow(**audit.model_dump()))
            return inbox_entry(row, self._cipher)

    def get(self, delivery_id: str, payer_id: str | None = None) -> InboxEntry | None:
        with self._sessions.begin() as session:
            row_id = _row_id(session, delivery_id, payer_id)
            if row_id is None:
                return None
            return inbox_entry(session.get_one(InboxRow, row_id), self._cipher)

    def due_for_redelivery(self, limit: int = 100) -> list[InboxEntry]:
        query = (
            select(InboxRow)
            .where(InboxRow.status.in_(PENDING_STATUSES))
            .order_by(InboxRow.received_at, InboxRow.id)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return [inbox_entry(row, self._cipher) for row in session.scalars(query)]

    def remember_signature(
        self, payer_id: str, signature: str, delivery_id: str, seen_at: datetime
    ) -> str:
        with self._sessions.begin() as session:
            return self._remember(session, payer_id, signature, delivery_id, seen_at)

    def _remember(
        self, session: Session, payer_id: str, signature: str, delivery_id: str, seen_at: datetime
    ) -> str:
        stmt = (
            self._insert(SignatureRow)
            .values(
                payer_id=payer_id, signature=signature, delivery_id=delivery_id, seen_at=seen_at
            )
            .on_conflict_do_nothing(index_elements=[SignatureRow.payer_id, SignatureRow.signature])
        )
        first = select(SignatureRow.delivery_id).where(
            SignatureRow.payer_id == payer_id, SignatureRow.signature == signature
        )
        session.execute(stmt)
        return session.scalars(first).one()

    def claim_signature(self, payer_id: str, signature: str, old: str, new: str) -> bool:
        stmt = (
            update(SignatureRow)
            .where(
                SignatureRow.payer_id == payer_id,
                SignatureRow.signature == signature,
                SignatureRow.delivery_id == old,
            )
            .values(delivery_id=new)
        )
        with self._sessions.begin() as session:
            result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
            return int(result.rowcount) == 1

    def forget_signatures(self, before: datetime) -> int:
        stmt = delete(SignatureRow).where(SignatureRow.seen_at < before)
        with self._sessions.begin() as session:
            result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
            return int(result.rowcount)


def _row_id(session: Session, delivery_id: str, payer_id: str | None) -> int | None:
    """The entry's row: the payer's own, or without a payer the oldest of that delivery id."""
    query = select(InboxRow.id).where(InboxRow.delivery_id == delivery_id)
    if payer_id is not None:
        query = query.where(InboxRow.payer_id == payer_id)
    return session.scalars(query.order_by(InboxRow.id).limit(1)).first()

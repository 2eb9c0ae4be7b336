"""SQL adapter of the webhook inbox: every delivery kept once, with its first answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, type_coerce, update

from store.db import dialect_insert, session_factory
from store.ports import PENDING_STATUSES, InboxEntry, InboxStatus, UnknownDelivery
from store.schema import InboxRow, NullableJSON


def inbox_entry(row: InboxRow) -> InboxEntry:
    return InboxEntry.model_validate(row, from_attributes=True)


class SqlWebhookInbox:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)

    def receive(
        self,
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
                body=body,
                received_at=received_at,
                status="received",
                attempts=0,
                updated_at=received_at,
            )
            # A concurrent receive of the same delivery waits here, then finds its row.
            .on_conflict_do_nothing(index_elements=[InboxRow.delivery_id])
            .returning(InboxRow.id)
        )
        with self._sessions.begin() as session:
            inserted = session.execute(stmt).first() is not None
            stored = session.scalars(select(InboxRow).where(InboxRow.delivery_id == delivery_id))
            return inbox_entry(stored.one()), inserted

    def mark(
        self,
        delivery_id: str,
        status: InboxStatus,
        *,
        episode_id: str | None = None,
        error: str | None = None,
        response: dict[str, Any] | None = None,
    ) -> InboxEntry:
        changes: dict[str, Any] = {"status": status, "updated_at": datetime.now(UTC)}
        if status == "queued":
            changes["attempts"] = InboxRow.attempts + 1
        if episode_id is not None:
            changes["episode_id"] = episode_id
        if error is not None:
            changes["last_error"] = error
        if response is not None:
            # Only the first answer is kept: a redelivery must hear exactly what the payer heard.
            changes["response"] = func.coalesce(
                InboxRow.response, type_coerce(response, NullableJSON)
            )
        # One UPDATE, not read-then-write, so concurrent marks serialise on the row lock.
        stmt = (
            update(InboxRow)
            .where(InboxRow.delivery_id == delivery_id)
            .values(changes)
            .returning(InboxRow)
        )
        with self._sessions.begin() as session:
            row = session.scalars(stmt).one_or_none()
            if row is None:
                raise UnknownDelivery(delivery_id)
            return inbox_entry(row)

    def get(self, delivery_id: str) -> InboxEntry | None:
        query = select(InboxRow).where(InboxRow.delivery_id == delivery_id)
        with self._sessions.begin() as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else inbox_entry(row)

    def due_for_redelivery(self, limit: int = 100) -> list[InboxEntry]:
        query = (
            select(InboxRow)
            .where(InboxRow.status.in_(PENDING_STATUSES))
            .order_by(InboxRow.received_at, InboxRow.id)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return [inbox_entry(row) for row in session.scalars(query)]

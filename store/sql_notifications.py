"""Staff notifications in SQL: stored once per (episode, key, role), read per role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select, update

from store.db import dialect_insert, session_factory
from store.schema import NotificationRow

# Admin sees and may mark every role's notifications.
EVERY_ROLE = "admin"


class StoredNotification(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    episode_id: str
    key: str
    role: str
    kind: str
    detail: str
    created_at: datetime
    emailed_at: datetime | None = None
    read_at: datetime | None = None
    read_by: str | None = None


class SqlNotifications:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)

    def store(
        self,
        episode_id: str,
        key: str,
        kind: str,
        detail: str,
        roles: Sequence[str],
        now: datetime,
    ) -> bool:
        """Store the notification for each role; True while it still owes its email (a new
        one, or a retry after the email failed). A repeat adds no row."""
        rows = [
            {"episode_id": episode_id, "key": key, "role": role, "kind": kind,
             "detail": detail, "created_at": now}
            for role in dict.fromkeys(roles)
        ]  # fmt: skip
        unique = [NotificationRow.episode_id, NotificationRow.key, NotificationRow.role]
        with self._sessions.begin() as session:
            stmt = (
                self._insert(NotificationRow)
                .values(rows)
                .on_conflict_do_nothing(index_elements=unique)
            )
            session.execute(stmt)
            owed = select(NotificationRow.id).where(
                NotificationRow.episode_id == episode_id,
                NotificationRow.key == key,
                NotificationRow.emailed_at.is_(None),
            )
            return session.scalars(owed.limit(1)).first() is not None

    def mark_emailed(self, episode_id: str, key: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.episode_id == episode_id, NotificationRow.key == key)
                .values(emailed_at=now)
            )

    def for_role(
        self, role: str, unread_only: bool = True, limit: int = 100
    ) -> list[StoredNotification]:
        """Newest first; admin sees every role's."""
        query = select(NotificationRow)
        if role != EVERY_ROLE:
            query = query.where(NotificationRow.role == role)
        if unread_only:
            query = query.where(NotificationRow.read_at.is_(None))
        query = query.order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc())
        with self._sessions.begin() as session:
            return [
                StoredNotification.model_validate(row)
                for row in session.scalars(query.limit(limit))
            ]

    def mark_read(self, notification_id: int, role: str, actor: str, now: datetime) -> bool:
        """False when there is no such notification for `role` (or it was read already)."""
        stmt = update(NotificationRow).where(
            NotificationRow.id == notification_id, NotificationRow.read_at.is_(None)
        )
        if role != EVERY_ROLE:
            stmt = stmt.where(NotificationRow.role == role)
        with self._sessions.begin() as session:
            return _rowcount(session.execute(stmt.values(read_at=now, read_by=actor))) == 1

    def mark_all_read(self, role: str, actor: str, now: datetime) -> int:
        stmt = update(NotificationRow).where(NotificationRow.read_at.is_(None))
        if role != EVERY_ROLE:
            stmt = stmt.where(NotificationRow.role == role)
        with self._sessions.begin() as session:
            return _rowcount(session.execute(stmt.values(read_at=now, read_by=actor)))


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (an UPDATE's result is a CursorResult, which counts them)."""
    count: int = result.rowcount
    return count

"""SQL adapter of the append-only audit log."""

from __future__ import annotations

from sqlalchemy import Engine, select

from store.db import session_factory
from store.ports import AuditEntry
from store.schema import AuditRow


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def append(self, entry: AuditEntry) -> None:
        with self._sessions.begin() as session:
            session.add(AuditRow(**entry.model_dump()))

    def entries(self, episode_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        query = select(AuditRow)
        if episode_id is not None:
            query = query.where(AuditRow.episode_id == episode_id)
        query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        with self._sessions.begin() as session:
            return [
                AuditEntry.model_validate(row, from_attributes=True)
                for row in session.scalars(query)
            ]

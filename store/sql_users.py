"""SQL adapter of the identity store: users, personal tokens, console sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from store.db import session_factory
from store.schema import AssignmentRow, ConsoleSessionRow, UserRow, UserTokenRow
from store.users import SessionRecord, UserExists, UserRecord


def user_record(row: UserRow) -> UserRecord:
    return UserRecord.model_validate(row, from_attributes=True)


class SqlUserStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def add(
        self,
        username: str,
        display_name: str,
        roles: list[str],
        password_hash: str | None,
        now: datetime,
        password_expired: bool = False,
    ) -> UserRecord:
        row = UserRow(
            username=username,
            display_name=display_name,
            roles=list(roles),
            active=True,
            password_hash=password_hash,
            password_expired=password_expired,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                return user_record(row)
        except IntegrityError:
            raise UserExists(f"the username {username!r} is taken") from None

    def by_username(self, username: str) -> UserRecord | None:
        with self._sessions.begin() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            return user_record(row) if row else None

    def set_password(
        self, user_id: int, password_hash: str, now: datetime, expired: bool = False
    ) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(password_hash=password_hash, password_expired=expired, updated_at=now)
            )

    def set_active(self, user_id: int, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(UserRow).where(UserRow.id == user_id).values(active=True, updated_at=now)
            )

    def set_roles(self, user_id: int, roles: list[str], display_name: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(roles=list(roles), display_name=display_name, updated_at=now)
            )

    def add_token(self, user_id: int, token_hash: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.add(UserTokenRow(user_id=user_id, token_hash=token_hash, created_at=now))

    def user_for_token(self, token_hash: str) -> UserRecord | None:
        query = (
            select(UserRow)
            .join(UserTokenRow, UserTokenRow.user_id == UserRow.id)
            .where(
                UserTokenRow.token_hash == token_hash,
                UserTokenRow.revoked_at.is_(None),
                UserRow.active.is_(True),
            )
        )
        with self._sessions.begin() as session:
            row = session.scalar(query)
            return user_record(row) if row else None

    def disable(self, username: str, now: datetime) -> UserRecord | None:
        with self._sessions.begin() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                return None
            row.active, row.updated_at = False, now
            session.execute(
                update(UserTokenRow)
                .where(UserTokenRow.user_id == row.id, UserTokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            session.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.user_id == row.id, ConsoleSessionRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            session.flush()
            return user_record(row)

    def open_session(
        self,
        id_hash: str,
        user_id: int | None,
        token_hash: str | None,
        actor: str,
        role: str,
        now: datetime,
    ) -> None:
        row = ConsoleSessionRow(
            id_hash=id_hash,
            user_id=user_id,
            token_hash=token_hash,
            actor=actor,
            role=role,
            created_at=now,
            last_seen_at=now,
        )
        with self._sessions.begin() as session:
            session.add(row)

    def session(self, id_hash: str) -> SessionRecord | None:
        query = (
            select(ConsoleSessionRow, UserRow)
            .outerjoin(UserRow, UserRow.id == ConsoleSessionRow.user_id)
            .where(ConsoleSessionRow.id_hash == id_hash)
        )
        with self._sessions.begin() as session:
            found = session.execute(query).first()
            if found is None:
                return None
            row, user = found
            return SessionRecord(
                id_hash=row.id_hash,
                user=user_record(user) if user is not None else None,
                token_hash=row.token_hash,
                actor=row.actor,
                role=row.role,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                revoked_at=row.revoked_at,
            )

    def touch_session(self, id_hash: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.id_hash == id_hash)
                .values(last_seen_at=now)
            )

    def users(self) -> list[UserRecord]:
        with self._sessions.begin() as session:
            return [
                user_record(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))
            ]

    def assign(self, episode_id: str, user_id: int | None, by: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(AssignmentRow).where(AssignmentRow.episode_id == episode_id))
            if user_id is not None:
                session.add(
                    AssignmentRow(
                        episode_id=episode_id, user_id=user_id, assigned_by=by, assigned_at=now
                    )
                )

    def owners(self, episode_ids: Sequence[str]) -> dict[str, UserRecord]:
        if not episode_ids:
            return {}
        query = (
            select(AssignmentRow.episode_id, UserRow)
            .join(UserRow, UserRow.id == AssignmentRow.user_id)
            .where(AssignmentRow.episode_id.in_(list(episode_ids)))
        )
        with self._sessions.begin() as session:
            return {episode_id: user_record(user) for episode_id, user in session.execute(query)}

    def owned_by(self, user_id: int) -> list[str]:
        query = select(AssignmentRow.episode_id).where(AssignmentRow.user_id == user_id)
        with self._sessions.begin() as session:
            return sorted(session.scalars(query))

    def revoke_session(self, id_hash: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.id_hash == id_hash, ConsoleSessionRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )

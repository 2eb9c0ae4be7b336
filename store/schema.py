"""SQLAlchemy tables of the read model, the webhook inbox and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant stored as UTC; SQLite keeps no offset, so one is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware instants only")
        value = value.astimezone(UTC)
        # SQLite compares instants as text, which is only right when they share one offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Python None is SQL NULL, never a JSON `null`, so "no value yet" stays testable in SQL.
NullableJSON = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class EpisodeRow(Base):
    __tablename__ = "episodes"

    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(String(40), index=True)
    payer_id: Mapped[str] = mapped_column(String(80), index=True)
    plan_type: Mapped[str] = mapped_column(String(40))
    trace_number: Mapped[str | None] = mapped_column(String(80), index=True)
    next_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    authorization_end: Mapped[date | None] = mapped_column(Date)
    held_claims: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    summary_json: Mapped[dict[str, Any]] = mapped_column(JSON)

    # The episode list pages newest first on exactly this key.
    __table_args__ = (Index("ix_episodes_opened_at_episode_id", "opened_at", "episode_id"),)


class EventRow(Base):
    __tablename__ = "episode_events"

    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.episode_id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key (episode_id, seq) is what makes a replayed projection a no-op.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SearchKeyRow(Base):
    """The words an episode is found by (store/search.py); one row per (kind, key)."""

    __tablename__ = "episode_search_keys"

    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.episode_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class ClaimRow(Base):
    __tablename__ = "claims"

    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.episode_id", ondelete="CASCADE"), primary_key=True
    )
    claim_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    through: Mapped[date] = mapped_column(Date)
    claim: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class WorklistRow(Base):
    __tablename__ = "worklist_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(
        ForeignKey("episodes.episode_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), index=True)
    due: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    detail: Mapped[str] = mapped_column(Text)
    payer_id: Mapped[str] = mapped_column(String(80), index=True)


class InboxRow(Base):
    __tablename__ = "webhook_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(200), unique=True)
    payer_id: Mapped[str] = mapped_column(String(80), index=True)
    content_type: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))
    episode_id: Mapped[str | None] = mapped_column(String(80), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # Redelivery and the worklist both ask "which deliveries have this status, oldest first".
    __table_args__ = (Index("ix_webhook_inbox_status_received_at", "status", "received_at"),)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80))
    route: Mapped[str] = mapped_column(String(200))
    episode_id: Mapped[str | None] = mapped_column(String(80), index=True)
    outcome: Mapped[str] = mapped_column(String(80))
    status_code: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The person behind `actor` when it is a user (None for role tokens and payers).
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str | None] = mapped_column(String(200))


class UserRow(Base):
    """One person: HIPAA's unique user identification (45 CFR 164.312(a)(2)(i))."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    # argon2id encoded hash (argon2-cffi); None until a password is set.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A one-time password (`stepdown users add`) must be replaced at the first sign-in.
    password_expired: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UserTokenRow(Base):
    """A personal API token, kept as `sha256:<hex>` like STEPDOWN_API_TOKENS keeps role tokens."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NoteRow(Base):
    """A free-text note on an episode; the text is PHI, sealed with the payload keyring."""

    __tablename__ = "episode_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    author: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # An encrypted Temporal Payload (workflows/codec.py): key id, nonce, AES-256-GCM.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class AttachmentRow(Base):
    """Clinical documentation for an episode (PDF or image): name and bytes sealed at rest."""

    __tablename__ = "episode_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploader_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    sealed_name: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class AssignmentRow(Base):
    """Who owns an episode's work; no foreign key to episodes: ops may assign an episode the
    read model has not projected yet."""

    __tablename__ = "episode_assignments"

    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsoleSessionRow(Base):
    """A console sign-in; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(80), primary_key=True)
    # None for a session opened with a role token of STEPDOWN_API_TOKENS (no person known).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The role token's hash for such a session, re-checked on every request.
    token_hash: Mapped[str | None] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

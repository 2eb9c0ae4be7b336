"""SQLAlchemy tables of the read model, the webhook inbox, the audit log and the X12 ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
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
    """The event store: the record. Append-only (database triggers refuse UPDATE and DELETE,
    except DELETE of a purged episode without a legal hold); every other table is derived."""

    __tablename__ = "episode_events"

    # No foreign key to `episodes`: that table is derived and is dropped by `db rebuild`.
    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    # The primary key (episode_id, seq) is what makes a replayed projection a no-op.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The hash chain (store/chain.py): the previous event's hash and this event's own.
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SearchKeyRow(Base):
    """The words an episode is found by (store/search.py), one row per (kind, key), each
    stored as its keyed digest (HMAC, store/phi.py search_token): never the word itself."""

    __tablename__ = "episode_search_keys"

    # No foreign key to the derived `episodes` table: the keys come from the events (the
    # record) and outlive a `stepdown db rebuild` of the derived tables.
    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
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
    # Lines left off the claim because they can never bill as recorded, with their reasons.
    dropped: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    # The claim that took a superseded claim's lines; None when it was withdrawn (or not
    # superseded).
    superseded_by: Mapped[str | None] = mapped_column(String(80))


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
    # An undated item's age and value, which rank it (domain.views.ranked_at).
    since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    value_cents: Mapped[int | None] = mapped_column(Integer)


class InboxRow(Base):
    __tablename__ = "webhook_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Unique per payer (payer B may reuse payer A's id): see the table's constraint below.
    delivery_id: Mapped[str] = mapped_column(String(200))
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
    # The trace number an unmatched delivery names, so it is found again once a route appears.
    trace_number: Mapped[str | None] = mapped_column(String(80), index=True)

    # Redelivery and the worklist both ask "which deliveries have this status, oldest first".
    __table_args__ = (
        Index("ix_webhook_inbox_status_received_at", "status", "received_at"),
        UniqueConstraint("payer_id", "delivery_id"),
    )


class TraceRouteRow(Base):
    """Which episode sent a request: written when the request is made, kept across rebuilds."""

    __tablename__ = "trace_routes"

    trace_number: Mapped[str] = mapped_column(String(80), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SignatureRow(Base):
    """A webhook signature already seen from a payer: the same value again is a replay."""

    __tablename__ = "webhook_signatures"

    payer_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    signature: Mapped[str] = mapped_column(String(128), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


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


class X12SubmissionRow(Base):
    """Every 278 request written to the clearinghouse mailbox, exactly as written."""

    __tablename__ = "x12_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    file_name: Mapped[str] = mapped_column(String(200), unique=True)
    control_number: Mapped[int] = mapped_column(Integer, unique=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    trace_number: Mapped[str] = mapped_column(String(80), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class X12AcknowledgementRow(Base):
    """A 999 or TA1 from the mailbox, parsed, with the submission it answers when ours."""

    __tablename__ = "x12_acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    functional_id: Mapped[str | None] = mapped_column(String(8))
    control_number: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(4))
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    episode_id: Mapped[str | None] = mapped_column(String(80), index=True)
    trace_number: Mapped[str | None] = mapped_column(String(80))
    purpose: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set once a rejection has become the episode's submission_failed event.
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LegalHoldRow(Base):
    """A legal hold: while one is active (not released) the episode's events cannot be purged."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class PurgeRow(Base):
    """The tombstone of a purged episode: what was deleted, when, by whom, and its chain head.

    The event store's DELETE trigger lets an event go only when its episode has this row."""

    __tablename__ = "episode_purges"

    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime)
    purged_by: Mapped[str] = mapped_column(String(200))
    events: Mapped[int] = mapped_column(Integer)
    last_event_at: Mapped[datetime] = mapped_column(UtcDateTime)
    head_hash: Mapped[str] = mapped_column(String(64))


class ClaimOutboxRow(Base):
    """A released claim waiting to go out, written with its projection (one transaction).

    No foreign key to `episodes`: rebuilding the read model deletes an episode's rows, and
    the outbox must outlive that.
    """

    __tablename__ = "claims_outbox"

    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    # CLM01 as sent, so an acknowledgement naming it finds the claim.
    control_number: Mapped[str] = mapped_column(String(38), unique=True)
    payer_id: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(20))
    claim: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the 837I needs besides the claim: patient, payer, diagnoses (from episode_opened).
    billing: Mapped[dict[str, Any]] = mapped_column(JSON)
    released_at: Mapped[datetime] = mapped_column(UtcDateTime)
    batch_id: Mapped[str | None] = mapped_column(String(40), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # A batch cut asks "which claims are queued, oldest first".
    __table_args__ = (Index("ix_claims_outbox_status_released_at", "status", "released_at"),)


class ClaimBatchRow(Base):
    __tablename__ = "claim_batches"

    batch_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interchange_control: Mapped[int] = mapped_column(Integer, unique=True)
    group_control: Mapped[int] = mapped_column(Integer, unique=True)
    transaction_control: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    claim_count: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    x12: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set while one process puts the file, so two senders do not both put it.
    send_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class SequenceRow(Base):
    """Named counters (batch ids, ISA/GS/ST control numbers) that never hand a value twice."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class NotificationRow(Base):
    """A staff notification, one row per role it is for; read per role."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    key: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    read_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # The notifier stores each (episode, key) once per role, so a retry adds nothing.
        UniqueConstraint("episode_id", "key", "role"),
        Index("ix_notifications_role_read_at", "role", "read_at"),
    )


class PayerRow(Base):
    """The payer directory: channel, endpoints and references to credentials, never secrets."""

    __tablename__ = "payers"

    payer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    plan_type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    pas_base_url: Mapped[str | None] = mapped_column(String(500))
    pas_token_url: Mapped[str | None] = mapped_column(String(500))
    pas_client_id: Mapped[str | None] = mapped_column(String(200))
    pas_private_key: Mapped[str | None] = mapped_column(String(510))
    pas_key_id: Mapped[str | None] = mapped_column(String(200))
    pas_algorithm: Mapped[str | None] = mapped_column(String(10))
    pas_scope: Mapped[str | None] = mapped_column(String(500))
    webhook_secrets: Mapped[list[str]] = mapped_column(JSON)
    clearinghouse_mailbox: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SubmissionRow(Base):
    """Every outbound payer submission: what was sent, how, and the payer's synchronous answer."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # episode:trace:purpose; an activity retry finds its row instead of adding one.
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    payer_id: Mapped[str] = mapped_column(String(64))
    trace_number: Mapped[str] = mapped_column(String(80), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    content_type: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PhiIndexRow(Base):
    """Keyed blind indexes (HMAC) of the encrypted fields an episode is searched by."""

    __tablename__ = "phi_index"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key to the derived `episodes` table: the index is built from the events
    # (the record) and outlives a `stepdown db rebuild` of the derived tables.
    episode_id: Mapped[str] = mapped_column(String(80), index=True)
    field: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_phi_index_field_digest", "field", "digest"),)


class EpisodeDataKeyRow(Base):
    """Each episode's data key, wrapped by the payload keyring (store/phi.py, DataKey).

    The event store's PHI is sealed under these keys, so a key rotation re-wraps these rows
    and never touches `episode_events`, which the database keeps append-only.
    """

    __tablename__ = "episode_data_keys"

    episode_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


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


class ThrottleWindowRow(Base):
    """Failed attempts of one key (an address, an account) in its current window.

    Shared by every API replica: a key's count is the same whichever replica it reaches.
    The key is kept as its SHA-256: the table need not say who tried.
    """

    __tablename__ = "throttle_windows"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Seconds since the epoch (the app's clock) when the window's first failure came.
    started_at: Mapped[float] = mapped_column(Float, index=True)
    failures: Mapped[int] = mapped_column(Integer)

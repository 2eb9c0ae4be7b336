"""People: users, personal API tokens, console sessions, episode owners, notes and
attachments, the person in each audit entry, and the search keys that find an episode by
patient, member id, authorization or trace number.

Revision ID: 0130
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130"
down_revision: str | None = "0140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the column type: a revision must not change when store/schema.py does.
INSTANT = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("password_expired", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "user_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(80), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        _user_fk("user_tokens"),
        sa.PrimaryKeyConstraint("id", name="pk_user_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_user_tokens_token_hash"),
    )
    op.create_index("ix_user_tokens_user_id", "user_tokens", ["user_id"])


def _create_console_sessions() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(80), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        _user_fk("console_sessions"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_console_sessions"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])


def _create_search_keys() -> None:
    op.create_table(
        "episode_search_keys",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", "kind", "key", name="pk_episode_search_keys"),
    )
    op.create_index("ix_episode_search_keys_key", "episode_search_keys", ["key"])
    _backfill_search_keys()


def _backfill_search_keys() -> None:
    """Keys for the episodes projected before this revision, from their stored events.

    Uses the application's key function (store/search.py) rather than a frozen copy: the
    keys must match what the running read model looks up, and a later change of that
    function comes with its own re-keying revision.
    """
    from domain.views import StoredEvent
    from store.search import event_keys

    events = sa.table(
        "episode_events",
        sa.column("episode_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("type", sa.String),
        sa.column("at", INSTANT),
        sa.column("data", sa.JSON),
    )
    keys = sa.table(
        "episode_search_keys",
        sa.column("episode_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("key", sa.String),
    )
    kinds = ("episode_opened", "authorization_requested", "authorization_granted")
    bind = op.get_bind()
    found = bind.execute(sa.select(events).where(events.c.type.in_(kinds)))
    rows = {
        (row.episode_id, kind, key)
        for row in found
        for kind, key in event_keys(
            StoredEvent(seq=row.seq, type=row.type, at=row.at, data=row.data)
        )
    }
    if rows:
        op.bulk_insert(keys, [{"episode_id": e, "kind": k, "key": v} for e, k, v in rows])


def _create_assignments() -> None:
    op.create_table(
        "episode_assignments",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("assigned_at", INSTANT, nullable=False),
        _user_fk("episode_assignments"),
        sa.PrimaryKeyConstraint("episode_id", name="pk_episode_assignments"),
    )
    op.create_index("ix_episode_assignments_user_id", "episode_assignments", ["user_id"])


def _create_notes() -> None:
    op.create_table(
        "episode_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=True),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_episode_notes"),
    )
    op.create_index("ix_episode_notes_episode_id", "episode_notes", ["episode_id"])


def _create_attachments() -> None:
    op.create_table(
        "episode_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("content_type", sa.String(60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploader_name", sa.String(200), nullable=True),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("sealed_name", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_episode_attachments"),
    )
    op.create_index("ix_episode_attachments_episode_id", "episode_attachments", ["episode_id"])


def upgrade() -> None:
    _create_search_keys()
    _create_users()
    _create_assignments()
    _create_notes()
    _create_attachments()
    _create_console_sessions()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("actor_name", sa.String(200), nullable=True))
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_user_id", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("actor_name")
        batch.drop_column("user_id")
    tables = (
        "episode_attachments",
        "episode_notes",
        "episode_assignments",
        "console_sessions",
        "user_tokens",
        "users",
    )
    for table in (*tables, "episode_search_keys"):
        op.drop_table(table)

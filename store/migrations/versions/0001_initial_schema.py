"""Initial schema: episodes, events, claims, worklist, webhook inbox and audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a revision must not change when store/schema.py does.
INSTANT = sa.DateTime(timezone=True)
NULLABLE_JSON = sa.JSON(none_as_null=True)


def _episode_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["episode_id"],
        ["episodes.episode_id"],
        name=f"fk_{table}_episode_id_episodes",
        ondelete="CASCADE",
    )


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def _create_episodes() -> None:
    op.create_table(
        "episodes",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("plan_type", sa.String(40), nullable=False),
        sa.Column("trace_number", sa.String(80), nullable=True),
        sa.Column("next_deadline", INSTANT, nullable=True),
        sa.Column("authorization_end", sa.Date(), nullable=True),
        sa.Column("held_claims", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("summary_json", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name="pk_episodes"),
    )
    _indexes("episodes", "state", "payer_id", "trace_number", "next_deadline")
    op.create_index("ix_episodes_opened_at_episode_id", "episodes", ["opened_at", "episode_id"])


def _create_episode_children() -> None:
    op.create_table(
        "episode_events",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _episode_fk("episode_events"),
        sa.PrimaryKeyConstraint("episode_id", "seq", name="pk_episode_events"),
    )
    op.create_table(
        "claims",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("claim_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("claim", NULLABLE_JSON, nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _episode_fk("claims"),
        sa.PrimaryKeyConstraint("episode_id", "claim_id", name="pk_claims"),
    )
    _indexes("claims", "status")
    op.create_table(
        "worklist_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("due", INSTANT, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        _episode_fk("worklist_items"),
        sa.PrimaryKeyConstraint("id", name="pk_worklist_items"),
    )
    _indexes("worklist_items", "episode_id", "kind", "due", "payer_id")


def _create_webhook_inbox() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response", NULLABLE_JSON, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_inbox"),
        sa.UniqueConstraint("delivery_id", name="uq_webhook_inbox_delivery_id"),
    )
    _indexes("webhook_inbox", "payer_id", "episode_id")
    op.create_index(
        "ix_webhook_inbox_status_received_at", "webhook_inbox", ["status", "received_at"]
    )


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=True),
        sa.Column("outcome", sa.String(80), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(80), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    _indexes("audit_log", "episode_id", "at")


def upgrade() -> None:
    _create_episodes()
    _create_episode_children()
    _create_webhook_inbox()
    _create_audit_log()


def downgrade() -> None:
    for table in (
        "audit_log",
        "webhook_inbox",
        "worklist_items",
        "claims",
        "episode_events",
        "episodes",
    ):
        # Dropping a table drops its indexes on both SQLite and PostgreSQL.
        op.drop_table(table)

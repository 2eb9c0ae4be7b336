"""Claims outbox, claim batches, sequences and staff notifications.

Revision ID: 0111
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111"
down_revision: str | None = "0190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a revision must not change when store/schema.py does.
INSTANT = sa.DateTime(timezone=True)


def _create_claims_outbox() -> None:
    op.create_table(
        "claims_outbox",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("claim_id", sa.String(80), nullable=False),
        sa.Column("control_number", sa.String(38), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("claim", sa.JSON(), nullable=False),
        sa.Column("billing", sa.JSON(), nullable=False),
        sa.Column("released_at", INSTANT, nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("episode_id", "claim_id", name="pk_claims_outbox"),
        sa.UniqueConstraint("control_number", name="uq_claims_outbox_control_number"),
    )
    op.create_index("ix_claims_outbox_payer_id", "claims_outbox", ["payer_id"])
    op.create_index("ix_claims_outbox_batch_id", "claims_outbox", ["batch_id"])
    op.create_index(
        "ix_claims_outbox_status_released_at", "claims_outbox", ["status", "released_at"]
    )


def _create_claim_batches() -> None:
    op.create_table(
        "claim_batches",
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("interchange_control", sa.Integer(), nullable=False),
        sa.Column("group_control", sa.Integer(), nullable=False),
        sa.Column("transaction_control", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("x12", sa.Text(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("send_started_at", INSTANT, nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("acknowledged_at", INSTANT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name="pk_claim_batches"),
        sa.UniqueConstraint("interchange_control", name="uq_claim_batches_interchange_control"),
        sa.UniqueConstraint("group_control", name="uq_claim_batches_group_control"),
        sa.UniqueConstraint("transaction_control", name="uq_claim_batches_transaction_control"),
    )
    op.create_index("ix_claim_batches_status", "claim_batches", ["status"])
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sequences"),
    )


def _create_notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("emailed_at", INSTANT, nullable=True),
        sa.Column("read_at", INSTANT, nullable=True),
        sa.Column("read_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "episode_id", "key", "role", name="uq_notifications_episode_id_key_role"
        ),
    )
    op.create_index("ix_notifications_episode_id", "notifications", ["episode_id"])
    op.create_index("ix_notifications_role_read_at", "notifications", ["role", "read_at"])


def upgrade() -> None:
    _create_claims_outbox()
    _create_claim_batches()
    _create_notifications()


def downgrade() -> None:
    for table in ("notifications", "sequences", "claim_batches", "claims_outbox"):
        op.drop_table(table)

"""The payer directory and the outbound submissions log.

Revision ID: 0110
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0110"
down_revision: str | None = "0111"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the column type: a revision must not change when store/schema.py does.
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payers",
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("plan_type", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("pas_base_url", sa.String(500), nullable=True),
        sa.Column("pas_token_url", sa.String(500), nullable=True),
        sa.Column("pas_client_id", sa.String(200), nullable=True),
        sa.Column("pas_private_key", sa.String(510), nullable=True),
        sa.Column("pas_key_id", sa.String(200), nullable=True),
        sa.Column("pas_algorithm", sa.String(10), nullable=True),
        sa.Column("pas_scope", sa.String(500), nullable=True),
        sa.Column("webhook_secrets", sa.JSON(), nullable=False),
        sa.Column("clearinghouse_mailbox", sa.String(200), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("payer_id", name="pk_payers"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("trace_number", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("idempotency_key", name="uq_submissions_idempotency_key"),
    )
    op.create_index("ix_submissions_episode_id", "submissions", ["episode_id"])
    op.create_index("ix_submissions_trace_number", "submissions", ["trace_number"])


def downgrade() -> None:
    op.drop_index("ix_submissions_trace_number", table_name="submissions")
    op.drop_index("ix_submissions_episode_id", table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("payers")

"""X12 ledger: interchange control numbers, 278 requests written, 999/TA1 acknowledgements.

Revision ID: 0112
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0112"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "x12_submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("trace_number", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("written_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_x12_submissions"),
        sa.UniqueConstraint("idempotency_key", name="uq_x12_submissions_idempotency_key"),
        sa.UniqueConstraint("file_name", name="uq_x12_submissions_file_name"),
        sa.UniqueConstraint("control_number", name="uq_x12_submissions_control_number"),
    )
    op.create_index("ix_x12_submissions_episode_id", "x12_submissions", ["episode_id"])
    op.create_index("ix_x12_submissions_trace_number", "x12_submissions", ["trace_number"])
    op.create_table(
        "x12_acknowledgements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("functional_id", sa.String(8), nullable=True),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=True),
        sa.Column("trace_number", sa.String(80), nullable=True),
        sa.Column("purpose", sa.String(20), nullable=True),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("reported_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_x12_acknowledgements"),
        sa.UniqueConstraint("delivery_id", name="uq_x12_acknowledgements_delivery_id"),
    )
    for column in ("control_number", "episode_id"):
        op.create_index(f"ix_x12_acknowledgements_{column}", "x12_acknowledgements", [column])


def downgrade() -> None:
    op.drop_table("x12_acknowledgements")
    op.drop_table("x12_submissions")

"""Throttle windows: failed sign-ins and bad bearer tokens counted in the database, so
every API replica sees the same counts (api/throttle.py). Worklist items keep the age and
value an undated item ranks by (domain.views.ranked_at).

Revision ID: 0180
Revises: 0130
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0180"
down_revision: str | None = "0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_windows",
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_hash", name="pk_throttle_windows"),
    )
    op.create_index("ix_throttle_windows_started_at", "throttle_windows", ["started_at"])
    # Rows projected before this revision rank as before (undated last) until their
    # episode is projected again (`stepdown db rebuild` projects every one).
    with op.batch_alter_table("worklist_items") as batch:
        batch.add_column(sa.Column("since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("value_cents", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worklist_items") as batch:
        batch.drop_column("value_cents")
        batch.drop_column("since")
    op.drop_index("ix_throttle_windows_started_at", table_name="throttle_windows")
    op.drop_table("throttle_windows")

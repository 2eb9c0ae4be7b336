"""The claims read model keeps what the domain's claim view has: `dropped` (lines left off a
claim because they can never bill as recorded, with their reasons) and `superseded_by` (the
claim that took a superseded claim's lines; NULL when it was withdrawn).

Claims projected before this revision are filled from their stored claim events, as the
projection would: `dropped` from the latest claim_released / claim_held event of the claim,
`superseded_by` from its claim_superseded event (these events hold no PHI, so nothing sealed
is read). `stepdown db rebuild` writes the same values.

Revision ID: 0170
Revises: 0130
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0170"
down_revision: str | None = "0130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_EVENTS = ("claim_released", "claim_held", "claim_superseded")


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column("dropped", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("claims", sa.Column("superseded_by", sa.String(80), nullable=True))
    _backfill()


def _backfill() -> None:
    events = sa.table(
        "episode_events",
        sa.column("episode_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("type", sa.String),
        sa.column("data", sa.JSON),
    )
    claims = sa.table(
        "claims",
        sa.column("episode_id", sa.String),
        sa.column("claim_id", sa.String),
        sa.column("dropped", sa.JSON),
        sa.column("superseded_by", sa.String),
    )
    bind = op.get_bind()
    found = bind.execute(
        sa.select(events.c.episode_id, events.c.type, events.c.data)
        .where(events.c.type.in_(CLAIM_EVENTS))
        .order_by(events.c.episode_id, events.c.seq)
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in found:
        data = row.data or {}
        key = (row.episode_id, str(data.get("claim_id", "")))
        if row.type == "claim_superseded":
            # domain/evolve.py: `by` names the claim that took the lines; "" is a withdrawal.
            latest.setdefault(key, {"dropped": [], "superseded_by": None})
            latest[key]["superseded_by"] = data.get("by") or None
        else:
            latest[key] = {"dropped": list(data.get("dropped") or []), "superseded_by": None}
    for (episode_id, claim_id), values in latest.items():
        if not values["dropped"] and values["superseded_by"] is None:
            continue
        bind.execute(
            sa.update(claims)
            .where(claims.c.episode_id == episode_id, claims.c.claim_id == claim_id)
            .values(**values)
        )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("dropped")

"""The event store: episode_events becomes the append-only, hash-chained record.

Adds `prev_hash` and `hash` to every event (existing rows are chained in seq order), drops
the foreign key to the derived `episodes` table, adds `legal_holds` and `episode_purges`,
and installs triggers that refuse UPDATE and DELETE on `episode_events` (DELETE only passes
for an episode with a purge tombstone and no active legal hold; an UPDATE only re-seals the
data column at rest, leaving identity, chain and hash alone; TRUNCATE is refused too).

Revision ID: 0190
Revises: 0001
Create Date: 2026-11-30
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0190"
down_revision: str | None = "0112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
GENESIS = "0" * 64
REFUSED = "episode_events is append-only"

# Only a purged episode's events may go, and never while a legal hold is active.
DELETE_ALLOWED = (
    "EXISTS (SELECT 1 FROM episode_purges p WHERE p.episode_id = OLD.episode_id) "
    "AND NOT EXISTS (SELECT 1 FROM legal_holds h "
    "WHERE h.episode_id = OLD.episode_id AND h.released_at IS NULL)"
)

# The one UPDATE let through: re-sealing `data` at rest under a rotated payload key
# (`stepdown db reencrypt`, store/phi.py). Identity, chain and hash stay as they are; the hash
# is over the plain data, so any change of content is still found by `events verify`.
RESEAL_ONLY = (
    "NEW.episode_id = OLD.episode_id AND NEW.seq = OLD.seq AND NEW.type = OLD.type "
    "AND NEW.at = OLD.at AND NEW.hash = OLD.hash AND NEW.prev_hash = OLD.prev_hash"
)

POSTGRES_FUNCTION = f"""
CREATE FUNCTION episode_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND {DELETE_ALLOWED} THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND {RESEAL_ONLY} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER episode_events_append_only BEFORE UPDATE OR DELETE ON episode_events "
    "FOR EACH ROW EXECUTE FUNCTION episode_events_append_only()",
    "CREATE TRIGGER episode_events_no_truncate BEFORE TRUNCATE ON episode_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION episode_events_append_only()",
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER episode_events_no_update BEFORE UPDATE ON episode_events "
    f"WHEN NOT ({RESEAL_ONLY}) "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END",
    "CREATE TRIGGER episode_events_no_delete BEFORE DELETE ON episode_events "
    f"WHEN NOT ({DELETE_ALLOWED}) "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE refused'); END",
)


def _canonical_hash(row: Any, prev_hash: str) -> str:
    """A frozen copy of store/chain.py's event_hash: this revision must not change with it."""
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    document = {
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": row.data,
        "episode_id": row.episode_id,
        "prev_hash": prev_hash,
        "seq": row.seq,
        "type": row.type,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chain_existing_events() -> None:
    events = sa.table(
        "episode_events",
        sa.column("episode_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("type", sa.String),
        sa.column("at", INSTANT),
        sa.column("data", sa.JSON),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(events).order_by(events.c.episode_id, events.c.seq)).all()
    current, prev = None, GENESIS
    for row in rows:
        if row.episode_id != current:
            current, prev = row.episode_id, GENESIS
        own = _canonical_hash(row, prev)
        bind.execute(
            events.update()
            .where(events.c.episode_id == row.episode_id, events.c.seq == row.seq)
            .values(prev_hash=prev, hash=own)
        )
        prev = own


def upgrade() -> None:
    with op.batch_alter_table("episode_events") as batch:
        batch.drop_constraint("fk_episode_events_episode_id_episodes", type_="foreignkey")
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("episode_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(200), nullable=False),
        sa.Column("placed_at", INSTANT, nullable=False),
        sa.Column("released_at", INSTANT, nullable=True),
        sa.Column("released_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_episode_id", "legal_holds", ["episode_id"])
    op.create_table(
        "episode_purges",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("purged_at", INSTANT, nullable=False),
        sa.Column("purged_by", sa.String(200), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_event_at", INSTANT, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name="pk_episode_purges"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER episode_events_no_truncate ON episode_events")
        op.execute("DROP TRIGGER episode_events_append_only ON episode_events")
        op.execute("DROP FUNCTION episode_events_append_only()")
    else:
        op.execute("DROP TRIGGER episode_events_no_delete")
        op.execute("DROP TRIGGER episode_events_no_update")
    op.drop_table("episode_purges")
    op.drop_index("ix_legal_holds_episode_id", table_name="legal_holds")
    op.drop_table("legal_holds")
    # An event whose episode summary is gone would break the restored foreign key.
    op.execute(
        "DELETE FROM episode_events WHERE episode_id NOT IN (SELECT episode_id FROM episodes)"
    )
    with op.batch_alter_table("episode_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.create_foreign_key(
            "fk_episode_events_episode_id_episodes",
            "episodes",
            ["episode_id"],
            ["episode_id"],
            ondelete="CASCADE",
        )

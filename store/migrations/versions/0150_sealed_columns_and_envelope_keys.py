"""PHI at rest everywhere, and an event store no UPDATE reaches.

- episode_data_keys: each episode's data key, wrapped by the payload keyring (store/phi.py).
  The event store's PHI is sealed under these keys (envelope encryption), so a key rotation
  re-wraps these rows and never rewrites an event.
- Existing event PHI (plain, or sealed directly with the keyring by revision 0140) is sealed
  again under its episode's data key: a one-time conversion, for which this revision drops
  the append-only UPDATE trigger and creates it again afterwards. The triggers it leaves
  refuse EVERY UPDATE of episode_events (revision 0190's exception for re-sealing `data` in
  place is gone); DELETE still passes only for a purged episode without an active hold.
- claims_outbox.billing, claim_batches.x12, submissions.payload/response and
  x12_submissions.body are sealed with the payload keyring.
- episode_search_keys holds keyed digests (HMAC) of the search words instead of the words.

Sealing needs the payload keys as the processes read them (STEPDOWN_PAYLOAD_KEYS); without
keys, rows stay plain (search keys become unkeyed digests) and `stepdown db reencrypt` seals
the columns later -- but event PHI written without keys stays plain in the append-only store.

Revision ID: 0150
Revises: 0130
Create Date: 2026-11-30
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0150"
down_revision: str | None = "0180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
REFUSED = "episode_events is append-only"

# Frozen copy of revision 0190's DELETE rule: only a purged episode's events may go, and
# never while a legal hold is active.
DELETE_ALLOWED = (
    "EXISTS (SELECT 1 FROM episode_purges p WHERE p.episode_id = OLD.episode_id) "
    "AND NOT EXISTS (SELECT 1 FROM legal_holds h "
    "WHERE h.episode_id = OLD.episode_id AND h.released_at IS NULL)"
)
# Revision 0190's UPDATE exception, restored only by the downgrade.
RESEAL_ONLY = (
    "NEW.episode_id = OLD.episode_id AND NEW.seq = OLD.seq AND NEW.type = OLD.type "
    "AND NEW.at = OLD.at AND NEW.hash = OLD.hash AND NEW.prev_hash = OLD.prev_hash"
)


def _postgres_function(update_allowed: str | None) -> str:
    update = ""
    if update_allowed is not None:
        update = (
            f"    IF TG_OP = 'UPDATE' AND {update_allowed} THEN\n        RETURN NEW;\n    END IF;\n"
        )
    return f"""
CREATE OR REPLACE FUNCTION episode_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND {DELETE_ALLOWED} THEN
        RETURN OLD;
    END IF;
{update}    RAISE EXCEPTION '{REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


POSTGRES_TRIGGER = (
    "CREATE TRIGGER episode_events_append_only BEFORE UPDATE OR DELETE ON episode_events "
    "FOR EACH ROW EXECUTE FUNCTION episode_events_append_only()"
)


def _sqlite_update_trigger(update_allowed: str | None) -> str:
    when = "" if update_allowed is None else f"WHEN NOT ({update_allowed}) "
    return (
        f"CREATE TRIGGER episode_events_no_update BEFORE UPDATE ON episode_events {when}"
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END"
    )


def _drop_update_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER episode_events_append_only ON episode_events")
    else:
        op.execute("DROP TRIGGER episode_events_no_update")


def _create_update_trigger(update_allowed: str | None) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_postgres_function(update_allowed))
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(_sqlite_update_trigger(update_allowed))


def _cipher() -> Any:
    # As in revision 0140: sealing needs the processes' keyring and cipher (store/phi.py).
    # A fresh Settings, not the cached get_settings(): a migration run inside a process
    # must not pin that process's settings.
    from settings import Settings
    from store.phi import cipher_from_settings

    return cipher_from_settings(Settings())


def _count_sealed(marker: str) -> int:
    rows = op.get_bind().execute(
        sa.text("SELECT data FROM episode_events WHERE type = 'episode_opened'")
    )
    count = 0
    for (data,) in rows:
        value = data if isinstance(data, dict) else json.loads(data)
        patient = value.get("patient")
        if isinstance(patient, dict) and patient.get("$sealed") == marker:
            count += 1
    return count


def upgrade() -> None:
    op.create_table(
        "episode_data_keys",
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name="pk_episode_data_keys"),
    )
    op.create_index("ix_episode_data_keys_kid", "episode_data_keys", ["kid"])
    from store.phi_rows import envelope_events, reindex, reseal

    bind = op.get_bind()
    cipher = _cipher()
    if cipher is None and _count_sealed("v1"):
        raise RuntimeError(
            "episode_events holds PHI sealed with the payload keyring: set "
            "STEPDOWN_PAYLOAD_KEYS (and STEPDOWN_PAYLOAD_ACTIVE_KEY) to migrate it"
        )
    # The one-time conversion of existing events: the UPDATE trigger is dropped for it and
    # created again, stricter, right after, in the same transaction.
    _drop_update_trigger()
    if cipher is not None:
        envelope_events(bind, cipher)
    _create_update_trigger(None)
    if cipher is not None:
        reseal(bind, cipher)  # the sealed columns, and every blind index and search key
    else:
        reindex(bind, None)  # search keys as (unkeyed) digests, never the words


def downgrade() -> None:
    from store.phi_rows import reindex, unenvelope_events, unseal_columns

    bind = op.get_bind()
    cipher = _cipher()
    if cipher is None and _count_sealed("e1"):
        raise RuntimeError(
            "episode_events holds PHI sealed with episode data keys: set "
            "STEPDOWN_PAYLOAD_KEYS (and STEPDOWN_PAYLOAD_ACTIVE_KEY) to downgrade"
        )
    _drop_update_trigger()
    if cipher is not None:
        unenvelope_events(bind, cipher)
        unseal_columns(bind, cipher)
    # Revision 0130's search keys were the normalised words themselves.
    reindex(bind, cipher, token=lambda _cipher, key: key)
    _create_update_trigger(RESEAL_ONLY)
    op.drop_index("ix_episode_data_keys_kid", table_name="episode_data_keys")
    op.drop_table("episode_data_keys")

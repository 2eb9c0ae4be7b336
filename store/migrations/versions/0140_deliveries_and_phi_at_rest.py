"""Deliveries that are never lost or replayed, and PHI at rest: routes, signatures, indexes.

- trace_routes: trace number -> episode, written when a request is made (kept across rebuilds)
- webhook_signatures: signatures seen per payer (replays under a new delivery id)
- webhook_inbox: delivery ids unique per payer; the trace number an unmatched delivery names
- phi_index: keyed blind indexes of encrypted patient fields

Existing PHI (episode_opened data, inbox bodies) is sealed here when payload keys are
configured (STEPDOWN_PAYLOAD_KEYS, as the processes read them); otherwise, or after a key
rotation, `stepdown db reencrypt` does it. Reads accept plain and sealed rows alike.

Revision ID: 0140
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0140"
down_revision: str | None = "0110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trace_routes",
        sa.Column("trace_number", sa.String(80), nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("trace_number", name="pk_trace_routes"),
    )
    op.create_index("ix_trace_routes_episode_id", "trace_routes", ["episode_id"])
    op.create_table(
        "webhook_signatures",
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("seen_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("payer_id", "signature", name="pk_webhook_signatures"),
    )
    op.create_index("ix_webhook_signatures_seen_at", "webhook_signatures", ["seen_at"])
    op.create_table(
        "phi_index",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("episode_id", sa.String(80), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_phi_index"),
    )
    op.create_index("ix_phi_index_episode_id", "phi_index", ["episode_id"])
    op.create_index("ix_phi_index_field_digest", "phi_index", ["field", "digest"])
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.drop_constraint("uq_webhook_inbox_delivery_id", type_="unique")
        batch.add_column(sa.Column("trace_number", sa.String(80), nullable=True))
        batch.create_unique_constraint(
            "uq_webhook_inbox_payer_id_delivery_id", ["payer_id", "delivery_id"]
        )
        batch.create_index("ix_webhook_inbox_trace_number", ["trace_number"])
    _route_known_requests()
    _seal_existing_phi()


def _seal_existing_phi() -> None:
    # The one place a revision runs application code: sealing needs the keyring and the
    # cipher the processes use (store/phi.py), and must never drift from them.
    from settings import Settings
    from store.phi import cipher_from_settings
    from store.phi_rows import seal_v1

    # A fresh Settings, not the cached get_settings(): a migration run inside a process
    # must not pin that process's settings.
    cipher = cipher_from_settings(Settings())
    if cipher is not None:
        seal_v1(op.get_bind(), cipher)


def _open_sealed_phi() -> None:
    from settings import Settings
    from store.phi import cipher_from_settings
    from store.phi_rows import unseal

    # A fresh Settings, not the cached get_settings(): a migration run inside a process
    # must not pin that process's settings.
    cipher = cipher_from_settings(Settings())
    if cipher is not None:
        unseal(op.get_bind(), cipher)


def _route_known_requests() -> None:
    """Every trace number the read model already knows gets its route (DOMAIN.md: one
    trace number per request, derived from the episode id)."""
    bind = op.get_bind()
    episodes = sa.table(
        "episodes",
        sa.column("episode_id", sa.String),
        sa.column("payer_id", sa.String),
        sa.column("trace_number", sa.String),
        sa.column("updated_at", INSTANT),
    )
    routes = sa.table(
        "trace_routes",
        sa.column("trace_number", sa.String),
        sa.column("episode_id", sa.String),
        sa.column("payer_id", sa.String),
        sa.column("recorded_at", INSTANT),
    )
    events = sa.table(
        "episode_events",
        sa.column("episode_id", sa.String),
        sa.column("type", sa.String),
        sa.column("data", sa.JSON),
    )
    known = bind.execute(
        sa.select(episodes.c.episode_id, episodes.c.payer_id, episodes.c.updated_at)
    ).all()
    payer_of = {row.episode_id: (row.payer_id, row.updated_at) for row in known}
    found: dict[str, dict[str, object]] = {}
    requested = sa.select(events.c.episode_id, events.c.data).where(
        events.c.type == "authorization_requested"
    )
    for row in bind.execute(requested):
        trace = (row.data or {}).get("trace_number")
        if trace and row.episode_id in payer_of:
            payer_id, at = payer_of[row.episode_id]
            found[trace] = {
                "trace_number": trace,
                "episode_id": row.episode_id,
                "payer_id": payer_id,
                "recorded_at": at,
            }
    if found:
        op.bulk_insert(routes, list(found.values()))


def downgrade() -> None:
    # The previous schema's code reads plain PHI only.
    _open_sealed_phi()
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.drop_index("ix_webhook_inbox_trace_number")
        batch.drop_constraint("uq_webhook_inbox_payer_id_delivery_id", type_="unique")
        batch.drop_column("trace_number")
        batch.create_unique_constraint("uq_webhook_inbox_delivery_id", ["delivery_id"])
    op.drop_table("phi_index")
    op.drop_table("webhook_signatures")
    op.drop_table("trace_routes")

"""The Alembic migrations build exactly the schema in store/schema.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, Table, insert, inspect

from domain.model import HoldReason
from domain.views import ClaimView, StoredEvent
from settings import get_settings
from store.db import ALEMBIC_INI, alembic_config, make_engine
from store.schema import Base, EpisodeRow, EventRow
from store.sql import SqlReadModel, _episode_values
from tests.support.store_factories import T0, held_claim, new_id, summary


@pytest.fixture
def settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migration_creates_exactly_the_tables_in_schema(database_engine: Engine) -> None:
    with database_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert diff == []
    assert tables(database_engine) == set(Base.metadata.tables)


def test_database_is_at_the_single_head(database_url: str, database_engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()

    with database_engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()

    assert len(heads) == 1
    assert current == tuple(heads)


def test_downgrade_to_base_and_upgrade_again(database_url: str, database_engine: Engine) -> None:
    config = alembic_config(database_url)

    command.downgrade(config, "base")
    emptied = tables(database_engine)
    command.upgrade(config, "head")

    assert emptied == set()
    assert tables(database_engine) == set(Base.metadata.tables)


@pytest.mark.usefixtures("settings_cache")
def test_alembic_reads_the_url_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nested" / "from-settings.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")

    command.upgrade(Config(str(ALEMBIC_INI)), "head")

    assert tables(make_engine(f"sqlite:///{path}")) == set(Base.metadata.tables)


def test_0170_fills_dropped_and_superseded_by_of_claims_projected_before_it(
    database_url: str, database_engine: Engine
) -> None:
    """Claims written before 0170 get the values their stored claim events give them."""
    config = alembic_config(database_url)
    read_model = SqlReadModel(database_engine)
    episode_id = new_id()
    short = HoldReason(code="below_minimum_minutes", detail="too short", lines=("S-9",))
    dropped = [short.model_dump(mode="json")]
    claim_events = [
        ("claim_held", {"claim_id": "C-1", "dropped": dropped}),
        ("claim_superseded", {"claim_id": "C-1", "by": "C-2"}),
        ("claim_held", {"claim_id": "C-2", "dropped": dropped}),
        ("claim_held", {"claim_id": "C-3", "dropped": []}),
        ("claim_superseded", {"claim_id": "C-3", "by": ""}),
    ]
    stored = [
        StoredEvent(seq=seq, type=kind, at=T0 + timedelta(minutes=seq), data=data)
        for seq, (kind, data) in enumerate(claim_events, start=1)
    ]
    c1 = held_claim("C-1").model_copy(update={"status": "superseded"})
    c3 = held_claim("C-3").model_copy(update={"status": "superseded"})
    command.downgrade(config, "0130")
    try:
        with database_engine.begin() as connection:
            # What the projection wrote before 0170: no dropped, no superseded_by column.
            read_model_rows(connection, episode_id, stored, [c1, held_claim("C-2"), c3])
    finally:
        command.upgrade(config, "head")

    claims = {c.claim_id: c for c in read_model.claims(episode_id)}
    assert (claims["C-1"].superseded_by, claims["C-1"].dropped) == ("C-2", [short])
    assert (claims["C-2"].superseded_by, claims["C-2"].dropped) == (None, [short])
    assert (claims["C-3"].superseded_by, claims["C-3"].dropped) == (None, [])


def read_model_rows(
    connection: Connection, episode_id: str, stored: list[StoredEvent], claims: list[ClaimView]
) -> None:
    """Rows in the 0130 shape: the episode and its events (tables 0170 leaves alone) and its
    claims without the columns 0170 adds."""
    values = _episode_values(summary(episode_id, version=len(stored)))
    connection.execute(insert(EpisodeRow.__table__).values(**values))
    for event in stored:
        connection.execute(
            insert(EventRow.__table__).values(
                episode_id=episode_id, seq=event.seq, type=event.type, at=event.at,
                data=event.data, prev_hash="0" * 64, hash=f"{event.seq:064d}",
            )
        )  # fmt: skip
    claims_table = Table("claims", MetaData(), autoload_with=connection)
    assert "dropped" not in claims_table.c and "superseded_by" not in claims_table.c
    for claim in claims:
        view = claim.model_dump(mode="json", by_alias=True)
        connection.execute(
            insert(claims_table).values(
                episode_id=episode_id, claim_id=claim.claim_id, status=claim.status,
                through=claim.through, claim=view["claim"], reasons=view["reasons"],
            )
        )  # fmt: skip

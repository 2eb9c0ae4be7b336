"""The Alembic migrations build exactly the schema in store/schema.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from settings import get_settings
from store.db import ALEMBIC_INI, alembic_config, make_engine
from store.schema import Base


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

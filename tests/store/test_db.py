"""Engines: SQLite gets its directory and pragmas; PostgreSQL always goes through psycopg 3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError

from store.db import make_engine, normalize_url, session_factory
from store.schema import AuditRow


def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "data" / "deeper" / "stepdown.db"
    engine = make_engine(f"sqlite:///{path}")

    with engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
    engine.dispose()

    assert path.parent.is_dir()
    assert (journal, foreign_keys) == ("wal", 1)


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg2://u@h/db"]
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    assert normalize_url(url).drivername == "postgresql+psycopg"


def test_instants_are_stored_as_utc_and_read_back_aware(database_engine: Engine) -> None:
    sessions = session_factory(database_engine)
    eastern = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    with sessions.begin() as session:
        session.add(_audit_row(eastern))

    with sessions.begin() as session:
        stored = session.scalars(select(AuditRow.at)).one()

    assert stored == eastern
    assert stored.tzinfo == UTC


def test_naive_instants_are_refused(database_engine: Engine) -> None:
    sessions = session_factory(database_engine)

    with pytest.raises(StatementError, match="naive datetime"), sessions.begin() as session:
        session.add(_audit_row(datetime(2026, 11, 23, 9, 0)))


def _audit_row(at: datetime) -> AuditRow:
    return AuditRow(
        actor="a",
        role="ops",
        action="read",
        route="GET /worklist",
        outcome="ok",
        status_code=200,
        request_id="r",
        at=at,
    )

"""The audit log is append-only in the database itself (migration 0185): UPDATE, DELETE and,
on PostgreSQL, TRUNCATE of audit_log are refused on SQLite and PostgreSQL alike, whatever
code holds the connection, and the entries stay as they were written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store.db import make_engine
from store.sql_audit import SqlAuditLog
from tests.store.test_audit_contract import entry
from tests.support.db import database_engine, database_url, postgres_database
from tests.support.store_factories import new_id

__all__ = ["database_engine", "database_url"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'forged' WHERE episode_id = :e",
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log WHERE episode_id = :e",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_refuses_to_change_or_remove_audit_entries(
    database_engine: Engine, statement: str
) -> None:
    audit = SqlAuditLog(database_engine)
    episode_id = new_id()
    audit.append(entry(episode_id))
    audit.append(entry(None, 1, action="worklist.read"))
    before = audit.entries()

    with pytest.raises(DBAPIError, match="append-only"), database_engine.begin() as connection:
        connection.execute(text(statement), {"e": episode_id})

    assert audit.entries() == before


@pytest.mark.postgres
def test_truncating_the_audit_log_is_refused_on_postgres() -> None:
    """SQLite has no TRUNCATE (its DELETE without WHERE is refused above)."""
    with postgres_database() as url:
        engine = make_engine(url)
        try:
            audit = SqlAuditLog(engine)
            audit.append(entry(new_id()))
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text("TRUNCATE audit_log"))
            assert len(audit.entries()) == 1
        finally:
            engine.dispose()


def test_appending_still_works(database_engine: Engine) -> None:
    audit = SqlAuditLog(database_engine)
    for minutes in range(3):
        audit.append(entry(new_id(), minutes))
    assert len(audit.entries()) == 3

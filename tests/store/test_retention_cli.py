"""`stepdown events hold | release | purge` on SQLite and PostgreSQL: a purge deletes only
closed episodes past their retention and never under a legal hold; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli import app
from domain.project import claim_views, summarize
from settings import get_settings
from store.event_store import SqlEventStore
from store.sql import SqlAuditLog, SqlReadModel
from tests.store.histories import cancelled, history

LONG_AGO = datetime(2014, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def stepdown(database_url: str, *args: str) -> Result:
    runner = CliRunner(env={"DATABASE_URL": database_url, "STEPDOWN_EVENT_RETENTION_YEARS": "10"})
    return runner.invoke(app, ["events", *args], catch_exceptions=False)


def projected(engine: Engine, start: datetime, closed: bool = True) -> str:
    state, events = cancelled(start) if closed else history(start)
    SqlReadModel(engine).apply(summarize(state, events[-1].at), events, claim_views(state))
    return state.episode_id


def test_purge_expired_spares_held_young_and_open_episodes(
    database_url: str, database_engine: Engine
) -> None:
    old, held = projected(database_engine, LONG_AGO), projected(database_engine, LONG_AGO)
    young = projected(database_engine, datetime.now(UTC) - timedelta(days=365))
    still_open = projected(database_engine, LONG_AGO, closed=False)
    placed = stepdown(database_url, "hold", held, "--reason", "subpoena 24-117", "--by", "counsel")
    assert placed.exit_code == 0, placed.output

    result = stepdown(database_url, "purge", "--expired", "--by", "records-office")

    assert result.exit_code == 0, result.output
    assert f"purged {old}" in result.output and "1 purged, 3 kept" in result.output
    store = SqlEventStore(database_engine)
    assert store.recorded(old) == [] and store.purged(old) is not None
    assert all(store.recorded(e) for e in (held, young, still_open))
    actions = [(e.action, e.actor) for e in SqlAuditLog(database_engine).entries(old)]
    assert actions == [("events.purge", "records-office")]


def test_a_named_episode_refused_exits_1_and_a_release_lets_it_go(
    database_url: str, database_engine: Engine
) -> None:
    held = projected(database_engine, LONG_AGO)
    stepdown(database_url, "hold", held, "--reason", "audit", "--by", "counsel")

    refused = stepdown(database_url, "purge", held, "--by", "records-office")
    assert refused.exit_code == 1
    assert "legal hold" in refused.output
    assert SqlEventStore(database_engine).recorded(held)

    released = stepdown(database_url, "release", held, "--by", "counsel")
    assert released.exit_code == 0 and "1 legal hold(s)" in released.output
    again = stepdown(database_url, "release", held, "--by", "counsel")
    assert again.exit_code == 1 and "no active legal hold" in again.output
    purged = stepdown(database_url, "purge", held, "--by", "records-office")
    assert purged.exit_code == 0, purged.output
    twice = stepdown(database_url, "purge", held, "--by", "records-office")
    assert twice.exit_code == 1 and "already purged" in twice.output


def test_bad_input_is_refused_and_changes_nothing(
    database_url: str, database_engine: Engine
) -> None:
    episode_id = projected(database_engine, LONG_AGO)

    blank = stepdown(database_url, "hold", episode_id, "--reason", " ", "--by", "counsel")
    no_reason = stepdown(database_url, "hold", episode_id, "--by", "counsel")
    nobody = stepdown(database_url, "purge", episode_id)
    neither = stepdown(database_url, "purge", "--by", "records-office")
    both = stepdown(database_url, "purge", episode_id, "--expired", "--by", "records-office")

    assert blank.exit_code == 1 and "needs a reason" in blank.output
    assert no_reason.exit_code == 2
    assert nobody.exit_code == 1 and "--by is required" in nobody.output
    assert neither.exit_code == 1 and both.exit_code == 1
    store = SqlEventStore(database_engine)
    assert store.holds(episode_id) == [] and store.recorded(episode_id)
    assert store.purged(episode_id) is None

"""`stepdown events verify` on the database: an intact record passes; an altered, deleted or
reordered event, written past the append-only triggers as an attacker with the database's
owner rights could, is reported with exit 1 (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli import app
from domain import commands as c
from domain.project import claim_views, summarize
from settings import get_settings
from store.sql import SqlReadModel
from tests.store.histories import history
from tests.support.procs import free_port

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def verify(database_url: str, *args: str, temporal: str | None = None) -> Result:
    # A Temporal address nobody listens on, unless a test wants the live comparison.
    env = {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal or f"127.0.0.1:{free_port()}",
        "STEPDOWN_DEV": "1",
    }
    return CliRunner(env=env).invoke(app, ["events", "verify", *args], catch_exceptions=False)


def projected(engine: Engine) -> str:
    """An episode as the worker projects it: opened, its request sent, cancelled."""
    state, events = history(START, c.Cancel(reason="left the program"))
    for event in events:
        # One batch per event, as separate workflow tasks would project them.
        SqlReadModel(engine).apply(summarize(state, event.at), [event], claim_views(state))
    return state.episode_id


def bypassing_triggers(engine: Engine, statements: list[str], **params: Any) -> None:
    """Runs `statements` with the append-only triggers out of the way (the owner can)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE episode_events DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER episode_events_no_update"))
            connection.execute(text("DROP TRIGGER episode_events_no_delete"))
        for statement in statements:
            connection.execute(text(statement), params)
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE episode_events ENABLE TRIGGER USER"))


def test_an_intact_record_passes_and_says_the_live_comparison_was_skipped(
    database_url: str, database_engine: Engine
) -> None:
    episode_id = projected(database_engine)

    result = verify(database_url, episode_id)

    assert result.exit_code == 0, result.output
    assert f"ok   {episode_id}: 3 events" in result.output
    assert "live comparison skipped: Temporal unreachable" in result.output


def test_an_altered_event_is_reported(database_url: str, database_engine: Engine) -> None:
    episode_id = projected(database_engine)
    other = projected(database_engine)
    bypassing_triggers(
        database_engine,
        ["UPDATE episode_events SET type = 'episode_closed' WHERE episode_id = :e AND seq = 3"],
        e=episode_id,
    )

    result = verify(database_url, "--all", "--no-live")

    assert result.exit_code == 1
    assert f"FAIL {episode_id}" in result.output
    assert "seq 3 (episode_closed): content does not match its hash" in result.output
    assert f"ok   {other}" in result.output
    assert "2 episode(s) checked, 1 with differences" in result.output


def test_altered_data_with_a_recomputed_hash_still_breaks_the_chain(
    database_url: str, database_engine: Engine
) -> None:
    episode_id = projected(database_engine)
    # A forger who rewrites seq 1's data and its own hash cannot fix seq 2's prev_hash
    # without rewriting every later event, and the summary still disagrees at the end.
    bypassing_triggers(
        database_engine,
        ["UPDATE episode_events SET hash = :forged WHERE episode_id = :e AND seq = 1"],
        e=episode_id,
        forged="f" * 64,
    )

    result = verify(database_url, episode_id, "--no-live")

    assert result.exit_code == 1
    assert "seq 1 (episode_opened): content does not match its hash" in result.output
    assert "seq 2: prev_hash" in result.output


def test_a_deleted_event_is_reported(database_url: str, database_engine: Engine) -> None:
    middle, last = projected(database_engine), projected(database_engine)
    bypassing_triggers(
        database_engine,
        [
            "DELETE FROM episode_events WHERE episode_id = :m AND seq = 2",
            "DELETE FROM episode_events WHERE episode_id = :l AND seq = 3",
        ],
        m=middle,
        l=last,
    )

    result = verify(database_url, "--all", "--no-live")

    assert result.exit_code == 1
    assert f"{middle}: seq 2 missing before seq 3" in result.output
    # The chain 1..2 that is left is intact; the summary derived from seq 3 gives it away.
    assert f"{last}: the derived summary says cancelled at version 3" in result.output


def test_reordered_events_are_reported(database_url: str, database_engine: Engine) -> None:
    episode_id = projected(database_engine)
    swap = "UPDATE episode_events SET seq = {to} WHERE episode_id = :e AND seq = {at}"
    bypassing_triggers(
        database_engine,
        [swap.format(at=2, to=100), swap.format(at=3, to=2), swap.format(at=100, to=3)],
        e=episode_id,
    )

    result = verify(database_url, episode_id, "--no-live")

    assert result.exit_code == 1
    assert "seq 2: prev_hash" in result.output
    assert "was removed, inserted or reordered" in result.output


def test_verify_needs_one_episode_or_all(database_url: str) -> None:
    assert verify(database_url).exit_code == 2
    assert verify(database_url, "ep-1", "--all").exit_code == 2
    unknown = verify(database_url, "ep-unknown", "--no-live")
    assert unknown.exit_code == 1
    assert "ep-unknown: no events in the event store" in unknown.output

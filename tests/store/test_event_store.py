"""The event store is the record: hash-chained, append-only in the database, purged only by
the retention rules and never under a legal hold (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from domain.project import claim_views, summarize
from domain.replay import event_of, same_facts
from domain.views import StoredEvent
from store.chain import GENESIS, chain_problems
from store.db import alembic_config, make_engine
from store.event_store import PurgeRefused, SqlEventStore
from store.phi import PhiCipher
from store.ports import EventConflict
from store.sql import SqlReadModel
from tests.store.histories import cancelled, history
from tests.support.db import migrated_database
from tests.support.store_factories import T0, events, new_id, summary

LONG_AGO = datetime(2014, 3, 2, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RECORDED_EVENTS = Path(__file__).resolve().parents[1] / "recorded_events"


def project(
    engine: Engine, start: datetime = T0, cancel: bool = True, cipher: PhiCipher | None = None
) -> str:
    state, stored = cancelled(start) if cancel else history(start)
    read_model = SqlReadModel(engine, cipher)
    read_model.apply(summarize(state, stored[-1].at), stored, claim_views(state))
    return state.episode_id


def test_each_event_is_chained_by_the_hash_of_its_documented_canonical_form(
    database_engine: Engine,
) -> None:
    episode_id = new_id()
    SqlReadModel(database_engine).apply(summary(episode_id, version=2), events(1, 2), [])

    first, second = SqlEventStore(database_engine).recorded(episode_id)

    form = (
        '{"at":"2026-11-23T14:01:00.000000Z","data":{"nested":{"codes":["S9480"],"units":2},'
        f'"seq":1}},"episode_id":"{episode_id}","prev_hash":"{GENESIS}","seq":1,'
        '"type":"EpisodeOpened"}'
    )
    assert first.prev_hash == GENESIS
    assert first.hash == hashlib.sha256(form.encode()).hexdigest()
    assert second.prev_hash == first.hash
    assert chain_problems(episode_id, [first, second]) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE episode_events SET hash = prev_hash WHERE episode_id = :e",
        "UPDATE episode_events SET type = 'episode_cancelled' WHERE episode_id = :e",
        "UPDATE episode_events SET data = '{}', hash = prev_hash WHERE episode_id = :e",
        "UPDATE episode_events SET seq = seq + 10 WHERE episode_id = :e",
        # Only `data`, identity, chain and hash untouched: refused too (no re-sealing in place).
        "UPDATE episode_events SET data = '{}' WHERE episode_id = :e AND seq = 1",
        # Not even a write of the same values passes.
        "UPDATE episode_events SET data = data WHERE episode_id = :e",
        "UPDATE episode_events SET at = at, hash = hash WHERE episode_id = :e",
        "DELETE FROM episode_events WHERE episode_id = :e",
        "DELETE FROM episode_events",
    ],
)
def test_the_database_refuses_to_update_or_delete_events(
    database_engine: Engine, statement: str
) -> None:
    episode_id = project(database_engine)
    before = SqlEventStore(database_engine).recorded(episode_id)

    with pytest.raises(DBAPIError, match="append-only"), database_engine.begin() as connection:
        connection.execute(text(statement), {"e": episode_id})

    assert SqlEventStore(database_engine).recorded(episode_id) == before


@pytest.mark.postgres
def test_postgres_refuses_truncate(tmp_path: Path) -> None:
    with migrated_database("postgres", tmp_path) as url:
        engine = make_engine(url)
        try:
            project(engine)
            with pytest.raises(DBAPIError, match="TRUNCATE refused"), engine.begin() as conn:
                conn.execute(text("TRUNCATE episode_events"))
        finally:
            engine.dispose()


def test_a_tombstone_does_not_let_a_held_episode_go(database_engine: Engine) -> None:
    episode_id = project(database_engine, LONG_AGO)
    SqlEventStore(database_engine).place_hold(episode_id, "litigation hold", "counsel", NOW)
    with database_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO episode_purges VALUES (:e, :at, 'raw', 1, :at, :h)"),
            {"e": episode_id, "at": NOW, "h": GENESIS},
        )

    with pytest.raises(DBAPIError, match="append-only"), database_engine.begin() as connection:
        connection.execute(
            text("DELETE FROM episode_events WHERE episode_id = :e"), {"e": episode_id}
        )


def test_purge_refuses_held_young_and_open_episodes(database_engine: Engine) -> None:
    store = SqlEventStore(database_engine)
    held = project(database_engine, LONG_AGO)
    young = project(database_engine, NOW - timedelta(days=400))
    still_open = project(database_engine, LONG_AGO, cancel=False)
    store.place_hold(held, "records request R-17", "privacy officer", NOW)

    with pytest.raises(PurgeRefused, match="legal hold"):
        store.purge(held, "ops", NOW, retention_years=10)
    with pytest.raises(PurgeRefused, match="must be kept until 2035"):
        store.purge(young, "ops", NOW, retention_years=10)
    with pytest.raises(PurgeRefused, match="still open"):
        store.purge(still_open, "ops", NOW, retention_years=10)
    with pytest.raises(PurgeRefused, match="no events"):
        store.purge(new_id(), "ops", NOW, retention_years=10)

    assert all(store.recorded(e) for e in (held, young, still_open))
    assert all(store.purged(e) is None for e in (held, young, still_open))


def test_purge_after_retention_and_release_leaves_a_tombstone(database_engine: Engine) -> None:
    store = SqlEventStore(database_engine)
    episode_id = project(database_engine, LONG_AGO)
    head = store.recorded(episode_id)[-1]
    store.place_hold(episode_id, "audit 2026", "privacy officer", NOW - timedelta(days=3))
    assert store.release_holds(episode_id, "privacy officer", NOW) == 1

    purged = store.purge(episode_id, "ops", NOW, retention_years=10)

    assert (purged.events, purged.head_hash, purged.last_event_at) == (head.seq, head.hash, head.at)
    assert store.recorded(episode_id) == []
    assert SqlReadModel(database_engine).summary(episode_id) is None
    assert store.purged(episode_id) == purged
    [hold] = store.holds(episode_id)
    assert hold.released_by == "privacy officer"
    with pytest.raises(PurgeRefused, match="already purged"):
        store.purge(episode_id, "ops", NOW, retention_years=10)


def test_a_purge_takes_the_data_key_and_search_digests_with_the_events(
    database_engine: Engine,
) -> None:
    cipher = PhiCipher({"a": bytes(range(32))}, "a")
    store = SqlEventStore(database_engine, cipher)
    episode_id, kept = (project(database_engine, LONG_AGO, cipher=cipher) for _ in range(2))
    tables = ("episode_data_keys", "episode_search_keys", "phi_index")

    def rows(of: str) -> list[int]:
        with database_engine.connect() as connection:
            return [
                connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE episode_id = :e"), {"e": of}
                ).scalar_one()
                for table in tables
            ]

    assert all(rows(episode_id)) and all(rows(kept))
    store.purge(episode_id, "ops", NOW, retention_years=10)

    assert rows(episode_id) == [0, 0, 0]
    assert all(rows(kept)) and store.recorded(kept)[0].data["patient"]


def test_a_legal_hold_needs_a_reason(database_engine: Engine) -> None:
    with pytest.raises(ValueError, match="reason"):
        SqlEventStore(database_engine).place_hold(new_id(), "  ", "counsel", NOW)


def test_the_migration_chains_the_events_stored_before_it(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0001")
    engine = make_engine(database_url)
    try:
        episode_id = new_id()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO episodes VALUES (:e, 'referred', 'p', 'commercial', NULL, NULL,"
                    " NULL, 0, 3, :at, :at, '{}')"
                ),
                {"e": episode_id, "at": T0},
            )
            for event in events(1, 2, 3):
                connection.execute(
                    text("INSERT INTO episode_events VALUES (:e, :seq, :type, :at, :data)"),
                    {
                        "e": episode_id,
                        "seq": event.seq,
                        "type": event.type,
                        "at": event.at
                        if engine.dialect.name != "sqlite"
                        else event.at.replace(tzinfo=None),
                        "data": event.model_dump_json(include={"data"})[8:-1],
                    },
                )
        command.upgrade(config, "head")

        recorded = SqlEventStore(engine).recorded(episode_id)
        assert [r.seq for r in recorded] == [1, 2, 3]
        assert chain_problems(episode_id, recorded) == []
        # The chain the migration computed is the one the store extends.
        assert (
            SqlReadModel(engine).apply(summary(episode_id, version=4), events(1, 2, 3, 4), []) == 1
        )
        assert chain_problems(episode_id, SqlEventStore(engine).recorded(episode_id)) == []
    finally:
        engine.dispose()


def test_an_event_of_an_earlier_shape_redelivered_in_todays_shape_is_kept_as_written(
    database_engine: Engine,
) -> None:
    """A workflow replayed by a newer release writes its earlier events in the new shape
    (schema_version, renamed fields): the stored ones stay as written and the chain goes on
    from their hashes; a redelivery with other facts is still refused."""
    recorded = [
        StoredEvent.model_validate(e)
        for e in json.loads((RECORDED_EVENTS / "r2-approved-and-billed.json").read_text())
    ]
    episode_id = new_id()
    read_model = SqlReadModel(database_engine)
    old = recorded[:-1]  # stored by the earlier release; the last event is new today
    read_model.apply(summary(episode_id, version=len(old)), old, [])
    today = [
        StoredEvent(
            seq=e.seq, type=e.type, at=e.at,
            data=event_of(e).model_dump(mode="json", exclude={"type", "at"}),
        )
        for e in recorded
    ]  # fmt: skip
    assert today[0].data != old[0].data and "stepped_down_from" in today[0].data

    new = read_model.apply(summary(episode_id, version=len(recorded)), today, [])

    assert new == 1
    kept = SqlEventStore(database_engine).recorded(episode_id)
    assert [e.seq for e in kept] == [e.seq for e in recorded]
    assert read_model.events(episode_id)[0].data == old[0].data  # never rewritten
    assert chain_problems(episode_id, kept) == []
    changed = today[1].model_copy(update={"data": {**today[1].data, "units": 99}})
    with pytest.raises(EventConflict):
        read_model.apply(summary(episode_id, version=len(recorded)), [changed], [])
    assert same_facts(old[0], today[0]) and not same_facts(today[1], changed)

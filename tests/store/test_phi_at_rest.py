"""PHI at rest (issue 14): event data and inbox bodies sealed with the payload keyring,
searchable by keyed blind index, re-sealed on rotation and by the migration.

SQLite and PostgreSQL; the raw rows are read back with plain SQL to prove what is stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from domain.views import StoredEvent
from settings import get_settings
from store.db import alembic_config, make_engine
from store.phi import PhiCipher, UnreadablePhi
from store.phi_rows import reseal
from store.ports import ReadModel
from store.schema import EventRow, InboxRow
from store.sql import SqlReadModel, SqlWebhookInbox
from tests.support.db import DATABASES, migrated_database
from tests.support.store_factories import T0, new_id, summary

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))
PATIENT = {"id": "P-1", "name": "Jane  Roe", "birth_date": "1990-04-01", "member_id": "MCD 123"}
BODY = b'{"trace_number": "SD-1", "member_id": "MCD 123"}'


def opened(patient: dict[str, Any] | None = None) -> StoredEvent:
    data = {"episode_id": "x", "patient": patient or PATIENT, "payer": {"id": "acme"}}
    return StoredEvent(seq=1, type="episode_opened", at=T0, data=data)


def raw_events(engine: Engine, episode_id: str) -> list[dict[str, Any]]:
    query = select(EventRow.data).where(EventRow.episode_id == episode_id)
    with engine.connect() as connection:
        return list(connection.scalars(query))


def raw_text(engine: Engine, episode_id: str) -> str:
    return json.dumps(raw_events(engine, episode_id))


def raw_data_keys(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT episode_id, kid FROM episode_data_keys"))
        return {episode_id: kid for episode_id, kid in rows}


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_database(request.param, tmp_path) as url:
        created = make_engine(url)
        yield created
        created.dispose()


def test_patient_fields_are_sealed_in_the_row_and_plain_to_the_reader(engine: Engine) -> None:
    read_model = SqlReadModel(engine, PhiCipher({"a": KEY_A}, "a"))
    episode = summary()

    read_model.apply(episode, [opened()], [])

    stored = raw_text(engine, episode.episode_id)
    for secret in ("Jane", "Roe", "1990-04-01", "MCD", "P-1"):
        assert secret not in stored
    # Sealed under the episode's own data key, which is kept wrapped by key "a".
    assert '"$sealed": "e1"' in stored and '"kid"' not in stored
    assert raw_data_keys(engine) == {episode.episode_id: "a"}
    [event] = read_model.events(episode.episode_id)
    assert event.data["patient"] == PATIENT


def test_an_episode_is_found_by_member_id_and_name_through_the_blind_index(
    engine: Engine,
) -> None:
    read_model = SqlReadModel(engine, PhiCipher({"a": KEY_A}, "a"))
    mine, other = summary(), summary()
    read_model.apply(mine, [opened()], [])
    read_model.apply(other, [opened(PATIENT | {"member_id": "ZZ9", "name": "Ann Lee"})], [])

    assert read_model.episodes_for_patient(member_id="mcd123") == [mine.episode_id]
    assert read_model.episodes_for_patient(patient_name="jane roe") == [mine.episode_id]
    both = read_model.episodes_for_patient(member_id="MCD 123", patient_name="Ann Lee")
    assert both == []
    assert read_model.episodes_for_patient() == []
    with engine.connect() as connection:
        digests = list(connection.execute(text("SELECT digest FROM phi_index")).scalars())
    assert digests and all("MCD" not in d and "jane" not in d for d in digests)


def test_a_rotation_keeps_reads_and_search_working_then_moves_every_row(engine: Engine) -> None:
    old = SqlReadModel(engine, PhiCipher({"a": KEY_A}, "a"))
    inbox_old = SqlWebhookInbox(engine, PhiCipher({"a": KEY_A}, "a"))
    episode, delivery = summary(), new_id("dlv")
    old.apply(episode, [opened()], [])
    inbox_old.receive(delivery, "acme", "application/json", {}, BODY, T0)
    rotating = PhiCipher({"a": KEY_A, "b": KEY_B}, "b")
    mid = SqlReadModel(engine, rotating)

    found_mid = mid.episodes_for_patient(member_id="MCD123")
    rows_before = raw_events(engine, episode.episode_id)
    with engine.begin() as connection:
        done = reseal(connection, rotating)
    only_new = PhiCipher({"b": KEY_B}, "b")

    assert found_mid == [episode.episode_id]
    assert (done.data_keys, done.bodies) >= (1, 1)
    # The event rows are the same bytes: only the episode's data key was wrapped anew.
    assert raw_events(engine, episode.episode_id) == rows_before
    assert raw_data_keys(engine)[episode.episode_id] == "b"
    new_reader = SqlReadModel(engine, only_new)
    assert new_reader.events(episode.episode_id)[0].data["patient"] == PATIENT
    assert new_reader.episodes_for_patient(member_id="MCD123") == [episode.episode_id]
    entry = SqlWebhookInbox(engine, only_new).get(delivery, "acme")
    assert entry is not None and entry.body == BODY
    with pytest.raises(UnreadablePhi):
        SqlReadModel(engine, PhiCipher({"a": KEY_A}, "a")).events(episode.episode_id)


def test_inbox_bodies_are_sealed_at_rest(engine: Engine) -> None:
    inbox = SqlWebhookInbox(engine, PhiCipher({"a": KEY_A}, "a"))
    delivery = new_id("dlv")

    entry, _ = inbox.receive(delivery, "acme", "application/json", {}, BODY, T0)

    with engine.connect() as connection:
        stored = connection.scalars(
            select(InboxRow.body).where(InboxRow.delivery_id == delivery)
        ).one()
    assert b"MCD" not in stored and b"SD-1" not in stored
    assert entry.body == BODY
    assert inbox.get(delivery, "acme").body == BODY  # type: ignore[union-attr]
    with pytest.raises(UnreadablePhi):
        SqlWebhookInbox(engine).get(delivery, "acme")


def test_search_contract_on_every_backend(read_model: ReadModel) -> None:
    mine = summary()
    read_model.apply(mine, [opened()], [])

    assert read_model.episodes_for_patient(member_id="mcd 123") == [mine.episode_id]
    assert read_model.episodes_for_patient(member_id="MCD124") == []


@pytest.fixture
def payload_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    keys = {"a": base64.b64encode(KEY_A).decode()}
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", json.dumps(keys))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_migration_seals_rows_stored_in_plain(engine: Engine, payload_keys: None) -> None:
    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0001")
    episode = summary()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO episodes (episode_id, state, payer_id, plan_type, trace_number, "
                "held_claims, version, opened_at, updated_at, summary_json) VALUES "
                "(:e, 'auth_requested', 'acme', 'commercial', 'SD-9', 0, 1, :t, :t, :j)"
            ),
            {"e": episode.episode_id, "t": T0.replace(tzinfo=None), "j": episode.model_dump_json()},
        )
        connection.execute(
            text(
                "INSERT INTO episode_events (episode_id, seq, type, at, data) "
                "VALUES (:e, 1, 'episode_opened', :t, :d)"
            ),
            {"e": episode.episode_id, "t": T0.replace(tzinfo=None), "d": json.dumps(opened().data)},
        )

    command.upgrade(alembic_config(url), "head")

    assert "Jane" not in raw_text(engine, episode.episode_id)
    cipher = PhiCipher({"a": KEY_A}, "a")
    reader = SqlReadModel(engine, cipher)
    assert reader.events(episode.episode_id)[0].data["patient"] == PATIENT
    assert reader.episodes_for_patient(member_id="MCD123") == [episode.episode_id]

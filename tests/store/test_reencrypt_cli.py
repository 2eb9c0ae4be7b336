"""`stepdown db reencrypt`: plain rows sealed, rotated rows moved to the active key."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from settings import get_settings
from store.db import make_engine
from store.phi import PhiCipher
from store.schema import EventRow
from store.sql import SqlReadModel
from tests.store.test_phi_at_rest import KEY_A, KEY_B, PATIENT, opened
from tests.support.db import sqlite_database
from tests.support.store_factories import summary


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with sqlite_database(tmp_path) as made:
        yield made


def keys_env(monkeypatch: pytest.MonkeyPatch, active: str, **keys: bytes) -> None:
    encoded = {kid: base64.b64encode(key).decode() for kid, key in keys.items()}
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", json.dumps(encoded))
    monkeypatch.setenv("STEPDOWN_PAYLOAD_ACTIVE_KEY", active)
    get_settings.cache_clear()


def test_reencrypt_rewraps_the_data_key_and_never_rewrites_an_event(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(url)
    episode, plain = summary(), summary()
    SqlReadModel(engine, PhiCipher({"a": KEY_A}, "a")).apply(episode, [opened()], [])
    SqlReadModel(engine).apply(plain, [opened()], [])  # written without payload keys
    with engine.connect() as connection:
        before = connection.execute(select(EventRow.episode_id, EventRow.data)).all()
    try:
        keys_env(monkeypatch, "b", a=KEY_A, b=KEY_B)
        first = CliRunner().invoke(app, ["db", "reencrypt", "--url", url])
        again = CliRunner().invoke(app, ["db", "reencrypt", "--url", url])
    finally:
        get_settings.cache_clear()

    assert first.exit_code == 0 and "key b: 1 episode data key(s)" in first.output, first.output
    assert "1 event(s) written without payload keys stay plain" in first.output
    assert "0 episode data key(s)" in again.output
    with engine.connect() as connection:
        assert connection.execute(select(EventRow.episode_id, EventRow.data)).all() == before
    reader = SqlReadModel(engine, PhiCipher({"b": KEY_B}, "b"))
    assert reader.events(episode.episode_id)[0].data["patient"] == PATIENT
    assert reader.events(plain.episode_id)[0].data["patient"] == PATIENT
    found = reader.episodes_for_patient(member_id="MCD123")
    assert sorted(found) == sorted([episode.episode_id, plain.episode_id])
    engine.dispose()


def test_reencrypt_without_a_key_says_so(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEPDOWN_PAYLOAD_KEYS", raising=False)
    monkeypatch.delenv("STEPDOWN_DEV", raising=False)
    get_settings.cache_clear()
    try:
        answer = CliRunner().invoke(app, ["db", "reencrypt", "--url", url])
    finally:
        get_settings.cache_clear()

    assert answer.exit_code == 1 and "no payload key" in answer.output

"""`stepdown users add / token / disable` on a migrated database, and their refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.identity import verify_password
from cli import app
from settings import get_settings, hash_token
from store.db import make_engine
from store.sql_users import SqlUserStore
from tests.support.db import sqlite_database

runner = CliRunner()


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlUserStore]:
    with sqlite_database(tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        engine = make_engine(url)
        yield SqlUserStore(engine)
        engine.dispose()
        get_settings.cache_clear()


def test_add_prints_a_one_time_password_that_only_its_hash_is_kept_of(
    users: SqlUserStore,
) -> None:
    done = runner.invoke(app, ["users", "add", "dana", "--role", "ops", "--name", "Dana Ortiz"])

    assert done.exit_code == 0, done.output
    password = done.output.strip().splitlines()[-1]
    record = users.by_username("dana")
    assert record is not None and record.roles == ["ops"] and record.display_name == "Dana Ortiz"
    assert record.password_hash is not None and record.password_hash.startswith("$argon2id$")
    assert record.password_expired  # one-time: replaced at the first sign-in
    assert password not in record.password_hash
    assert verify_password(record, password)
    assert not verify_password(record, password + "x")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "add", "Dana!", "--role", "ops"], "username 'Dana!'"),
        (["users", "add", "dana", "--role", "root"], "roles ['root']"),
        (["users", "token", "nobody"], "there is no user 'nobody'"),
        (["users", "disable", "nobody"], "there is no user 'nobody'"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    users: SqlUserStore, argv: list[str], message: str
) -> None:
    done = runner.invoke(app, argv)

    assert done.exit_code == 1
    assert message in " ".join(done.output.split())
    assert users.by_username("dana") is None


def test_a_username_is_added_once(users: SqlUserStore) -> None:
    runner.invoke(app, ["users", "add", "dana", "--role", "ops"])

    again = runner.invoke(app, ["users", "add", "dana", "--role", "intake"])

    assert again.exit_code == 1 and "'dana' is taken" in again.output
    assert users.by_username("dana").roles == ["ops"]  # type: ignore[union-attr]


def test_token_is_shown_once_and_stored_hashed_and_disable_revokes_it(
    users: SqlUserStore,
) -> None:
    runner.invoke(app, ["users", "add", "dana", "--role", "ops", "--role", "intake"])

    issued = runner.invoke(app, ["users", "token", "dana"])
    token = issued.stdout.strip().splitlines()[-1]
    found = users.user_for_token(hash_token(token))
    disabled = runner.invoke(app, ["users", "disable", "dana"])
    refused = runner.invoke(app, ["users", "token", "dana"])

    assert issued.exit_code == 0 and token.startswith("sdp_")
    assert found is not None and found.roles == ["ops", "intake"]
    assert disabled.exit_code == 0
    assert users.user_for_token(hash_token(token)) is None
    assert refused.exit_code == 1 and "disabled" in refused.output


def test_an_unmigrated_database_gets_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        done = runner.invoke(app, ["users", "add", "dana", "--role", "ops"])
    finally:
        get_settings.cache_clear()

    assert done.exit_code == 1 and "stepdown db upgrade" in done.output

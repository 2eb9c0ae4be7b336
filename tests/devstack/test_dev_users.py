"""`stepdown dev` seeds one user per role with a password fresh for each start, and prints it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from api.identity import verify_password
from api.people import seed_dev_users
from devstack.stack import DevStack
from settings import Settings
from store.db import make_engine
from store.sql_users import SqlUserStore
from tests.support.db import sqlite_database

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_each_start_gives_the_dev_users_new_passwords(tmp_path: Path) -> None:
    with sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        users = SqlUserStore(engine)
        first = seed_dev_users(users, NOW)
        users.disable("ops", NOW)
        second = seed_dev_users(users, NOW)
        ops = users.by_username("ops")
        engine.dispose()

    assert set(first) == {"intake", "billing", "ops", "admin"}
    assert ops is not None and ops.active and ops.roles == ["ops"]
    assert not ops.password_expired  # dev users sign in straight away
    assert verify_password(ops, second["ops"]) and not verify_password(ops, first["ops"])


def test_the_banner_prints_each_roles_console_password() -> None:
    console = Console(record=True, width=160)
    stack = DevStack(Settings.model_validate({"STEPDOWN_DEV": True}), console)
    stack.passwords = {"ops": "pw-for-ops"}

    stack._banner(1.0)

    assert "ops / pw-for-ops" in console.export_text()

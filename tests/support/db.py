"""Database fixtures for every suite: a migrated SQLite file or a private PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from store.db import make_engine, upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)


@cache
def postgres_problem(url: str) -> str | None:
    """Why the server cannot be used, asked once per run so a missing server costs one timeout."""
    engine = make_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        return f"PostgreSQL at {url} is unreachable: {exc.orig}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    url = postgres_url()
    problem = postgres_problem(url)
    if problem is None:
        return url
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {problem}")
    pytest.skip(problem)


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str]:
    """A fresh SQLite file migrated to head; the caller's temporary directory cleans it up."""
    url = f"sqlite:///{directory / f'stepdown-{uuid.uuid4().hex}.db'}"
    upgrade(url)
    yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A uniquely named schema migrated to head, reached through search_path, dropped after."""
    server = require_postgres()
    schema = f"test_{uuid.uuid4().hex}"
    admin = make_engine(server, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # In the URL, `options` reaches psycopg as connect_args={"options": ...}, so anything
    # handed this URL (an engine, DATABASE_URL, Alembic) lands in the same schema.
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        upgrade(url)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated_database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "postgres":
        with postgres_database() as url:
            yield url
    else:
        with sqlite_database(directory) as url:
            yield url


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of its own, migrated to head, for each test and each backend."""
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def database_engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    yield created
    created.dispose()

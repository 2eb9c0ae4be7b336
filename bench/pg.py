"""A private PostgreSQL schema for a bench run, as the tests make one (tests/support/db.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from store.db import make_engine, upgrade

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", os.environ.get("TEST_DATABASE_URL", DEFAULT_URL))


@contextmanager
def private_schema(server: str | None = None) -> Iterator[str]:
    """A uniquely named schema migrated to head, reached through search_path, dropped after;
    yields the URL that lands in it (an engine, DATABASE_URL and Alembic all honour it)."""
    server = server or server_url()
    schema = f"bench_{uuid.uuid4().hex}"
    admin = make_engine(server, poolclass=NullPool, connect_args={"connect_timeout": 5})
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        upgrade(url)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

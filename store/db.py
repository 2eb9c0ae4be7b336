"""Engines, sessions and programmatic migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def normalize_url(url: str | URL) -> URL:
    """PostgreSQL always goes through psycopg 3, whatever driver the URL names."""
    parsed = make_url(url)
    # "postgres://" is the spelling many hosting providers hand out; SQLAlchemy 2 refuses it.
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


class HideRows(logging.Filter):
    """Drops the lines SQLAlchemy logs at DEBUG for each fetched row: rows hold PHI."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


def _hide_rows(engine: Engine) -> None:
    # With echo set, SQLAlchemy wraps the logger in an adapter that keeps it as `.logger`.
    wrapped: Any = engine.logger
    logger: logging.Logger = getattr(wrapped, "logger", wrapped)
    if not any(isinstance(f, HideRows) for f in logger.filters):
        logger.addFilter(HideRows())


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine whose logs and errors never show values: parameters and rows hold PHI."""
    kwargs.setdefault("hide_parameters", True)
    engine = _make_engine(normalize_url(url), **kwargs)
    _hide_rows(engine)
    return engine


def _make_engine(parsed: URL, **kwargs: Any) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The API, the worker's activities and the redelivery loop share one engine across threads.
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while a projection writes; SQLite enforces no FK unless asked.
    # `synchronous` stays FULL (not NORMAL, which loses the last commits on power loss): the
    # file holds the event store, the webhook inbox and the audit log, records of their own,
    # not only the rebuildable projection. Fewer commits per request is the saving taken.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str | URL) -> Config:
    config = Config(str(ALEMBIC_INI))
    rendered = normalize_url(url).render_as_string(hide_password=False)
    # The ini file interpolates '%', which URL-encoded options (search_path) contain.
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(engine: Engine) -> Any:
    """The dialect's INSERT, which alone knows ON CONFLICT; both dialects spell it alike."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

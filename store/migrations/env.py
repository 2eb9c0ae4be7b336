"""Alembic environment: migrates the database named by the config, or else by settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from settings import get_settings
from store.db import make_engine
from store.schema import Base

config = context.config
# Only the alembic command line owns logging; a programmatic upgrade must leave the app's alone.
if config.cmd_opts is not None and config.config_file_name is not None:
    fileConfig(config.config_file_name)


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            # Batch mode lets later revisions alter SQLite tables, which lack ALTER COLUMN.
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

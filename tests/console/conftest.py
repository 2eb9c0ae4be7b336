"""The console over real parts: the dev server, a worker projecting into SQLite, the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from store.db import make_engine
from tests.support.api_client import Api
from tests.support.api_stack import Stack, running_stack
from tests.support.console_client import Console
from tests.support.db import sqlite_database


@pytest.fixture(scope="session")
def console_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    directory: Path = tmp_path_factory.mktemp("console-db")
    with sqlite_database(directory) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def console_stack(
    dev_env: WorkflowEnvironment, console_engine: Engine
) -> AsyncIterator[Stack]:
    async with running_stack(dev_env.client, console_engine, "console") as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def console(console_stack: Stack) -> AsyncIterator[Console]:
    """A browser-like client (cookies kept) and a JSON API client of the same app."""
    transport = httpx.ASGITransport(app=console_stack.app)
    base = "http://stepdown.test"
    async with (
        httpx.AsyncClient(transport=transport, base_url=base) as web,
        httpx.AsyncClient(transport=transport, base_url=base) as http,
    ):
        yield Console(web, Api(http, console_stack))

"""The console over real parts: the dev server, a worker projecting into SQLite, the app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.routing import NoMatchFound
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from activities.fakes import FakePorts
from api.app import create_app
from api.console import router as console_router
from api.deps import ApiDeps, sql_deps
from settings import Settings
from store.db import make_engine
from store.sql import SqlReadModel
from tests.api.helpers import Api, Stack, api_settings
from tests.console.helpers import Console
from tests.support.db import sqlite_database
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow


def console_app(settings: Settings, deps: ApiDeps) -> FastAPI:
    """The API app with the console mounted, as `create_app` mounts it once the lead adds it."""
    app = create_app(settings, deps=deps)
    try:
        app.url_path_for("console.worklist")
    except NoMatchFound:
        app.include_router(console_router)
    return app


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
    queue = f"tq-console-{uuid.uuid4().hex}"
    settings = api_settings(STEPDOWN_TASK_QUEUE=queue)
    ports = FakePorts()
    activities = EpisodeActivities(
        ports.payer_gateway, SqlReadModel(console_engine), ports.notifier, ports.outbox
    )
    async with running_worker(dev_env.client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(console_engine, dev_env.client, settings)
        app = console_app(settings, deps)
        yield Stack(app, deps, settings, console_engine, ports)


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

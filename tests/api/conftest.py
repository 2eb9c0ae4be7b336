"""The API over real parts: the dev server, a worker projecting into SQL, the app over ASGI.

One stack per database backend for the whole session (SQLite, then PostgreSQL); tests keep
apart by uuid episode and payer ids. No lifespan runs, so no background redelivery loop
touches another test's inbox rows; the tests that need the loop run it themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from activities.fakes import FakePorts
from api.app import create_app
from api.deps import sql_deps
from store.db import make_engine
from store.sql import SqlReadModel
from tests.api.helpers import Api, Stack, api_settings
from tests.support.db import DATABASES, migrated_database
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow


@pytest.fixture(scope="session", params=DATABASES)
def api_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    directory: Path = tmp_path_factory.mktemp("api-db")
    with migrated_database(request.param, directory) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(dev_env: WorkflowEnvironment, api_engine: Engine) -> AsyncIterator[Stack]:
    settings = api_settings()
    queue = f"tq-api-{uuid.uuid4().hex}"
    settings = settings.model_copy(update={"task_queue": queue})
    ports = FakePorts()
    activities = EpisodeActivities(
        ports.payer_gateway, SqlReadModel(api_engine), ports.notifier, ports.outbox
    )
    async with running_worker(dev_env.client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(api_engine, dev_env.client, settings)
        yield Stack(create_app(settings, deps=deps), deps, settings, api_engine, ports)


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        yield Api(http, stack)

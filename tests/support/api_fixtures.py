"""The API stack fixtures a tier's conftest imports: one stack per database backend for the
tier's session (dev server, worker, SQL read model, app over ASGI). Each conftest that
imports them gets its own session stack, as a fixture belongs to the conftest it is in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.support.api_client import Api, api_client
from tests.support.api_stack import Stack, migrated_engine, running_stack
from tests.support.db import DATABASES


@pytest.fixture(scope="session", params=DATABASES)
def api_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path_factory.mktemp("api-db")) as engine:
        yield engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(dev_env: WorkflowEnvironment, api_engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(dev_env.client, api_engine, "api") as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack) -> AsyncIterator[Api]:
    async with api_client(stack) as client:
        yield client

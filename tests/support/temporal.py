"""Temporal fixtures for every suite: the time-skipping and dev servers, and a running worker."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.episode import EpisodeActivities
from worker import build_worker
from workflows.temporal import DATA_CONVERTER, SEARCH_ATTRIBUTES, register_search_attributes

SERVERS = ["time_skipping_env", "dev_env"]


def find_binary(name: str) -> str:
    """The server binary a pip package put next to this interpreter; never downloaded."""
    beside = Path(sys.prefix, "bin", name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found in {beside.parent} or on PATH; run `make install`")
    return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java test server: time jumps to the next timer whenever a test awaits a result.

    It registers custom search attributes and accepts upserts and `describe()` shows them,
    but it has no visibility queries (`list_workflows` is unimplemented).
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    async with env:
        # Unlike the dev server it starts with no custom attributes, and an upsert of an
        # unknown one fails the workflow task over and over instead of failing the test.
        await register_search_attributes(env.client, env.client.namespace)
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The CLI dev server (in-memory SQLite): real visibility, real clock."""
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
        dev_server_log_level="error",
    )
    async with env:
        # Fails fast if an attribute came up with the wrong type.
        await register_search_attributes(env.client, env.client.namespace)
        yield env


@pytest.fixture(params=SERVERS)
def either_env(request: pytest.FixtureRequest) -> WorkflowEnvironment:
    """Runs the test once per server; for behaviour that must hold on both."""
    # A sync fixture, because an async test cannot resolve an async fixture by name.
    env: WorkflowEnvironment = request.getfixturevalue(request.param)
    return env


@asynccontextmanager
async def running_worker(
    client: Client,
    activities: EpisodeActivities,
    workflows: Sequence[type],
    task_queue: str | None = None,
) -> AsyncIterator[Worker]:
    """A worker wired like production's, on a fresh task queue unless one is given."""
    worker = build_worker(client, activities, workflows, task_queue or f"tq-{uuid.uuid4()}")
    async with worker:
        yield worker

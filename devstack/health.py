"""Readiness checks of the dev stack: Temporal answers, HTTP says 200, a worker polls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import temporalio.api.enums.v1 as enums
import temporalio.api.taskqueue.v1 as taskqueue
import temporalio.api.workflowservice.v1 as service

from devstack.children import StackError
from settings import Settings
from workflows.temporal import connect, ensure_retention, register_search_attributes

POLL = 0.25


class NotReady(StackError):
    pass


def wait_until(
    what: str, ready: Callable[[], bool], alive: Callable[[], None], timeout: float
) -> None:
    """Call `ready` until it is true; `alive` raises when the process behind it died."""
    deadline = time.monotonic() + timeout
    while True:
        alive()
        if ready():
            return
        if time.monotonic() > deadline:
            raise NotReady(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(POLL)


def http_ok(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def temporal_ready(settings: Settings) -> Callable[[], bool]:
    """True once the frontend answers; registers the search attributes on that first answer."""

    async def check() -> bool:
        try:
            client = await asyncio.wait_for(connect(settings), timeout=3.0)
        except (RuntimeError, OSError, TimeoutError):
            return False
        await register_search_attributes(client, settings.temporal_namespace)
        await ensure_retention(
            client, settings.temporal_namespace, settings.temporal_retention_days
        )
        return True

    return lambda: asyncio.run(check())


def worker_polling(settings: Settings, since: datetime) -> Callable[[], bool]:
    """True once some worker polled the task queue after `since` (older pollers are gone)."""
    request = service.DescribeTaskQueueRequest(
        namespace=settings.temporal_namespace,
        task_queue=taskqueue.TaskQueue(name=settings.task_queue),
        task_queue_type=enums.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )

    async def check() -> bool:
        client = await connect(settings)
        answer = await client.workflow_service.describe_task_queue(request)
        return any(p.last_access_time.ToDatetime(UTC) >= since for p in answer.pollers)

    return lambda: asyncio.run(check())

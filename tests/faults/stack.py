"""The API over real parts for one fault scenario: a worker, the SQL read model, the app."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from activities.episode import EpisodeActivities
from activities.fakes import FakePorts
from api.app import create_app
from api.deps import sql_deps
from store.sql import SqlReadModel
from tests.api.helpers import Api, Stack, api_settings, decision_body, new_id, signature
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow

BASE_URL = "http://stepdown.test"


@asynccontextmanager
async def api_stack(
    client: Client, engine: Engine, *, redelivery: bool = False, **settings: Any
) -> AsyncIterator[Api]:
    """A worker on a fresh task queue and the app over ASGI; `redelivery` runs the lifespan
    (and so the inbox redelivery loop) as a deployed API does."""
    queue = f"tq-faults-{uuid.uuid4().hex}"
    config = api_settings(STEPDOWN_TASK_QUEUE=queue, **settings)
    ports = FakePorts()
    activities = EpisodeActivities(
        ports.payer_gateway, SqlReadModel(engine), ports.notifier, ports.outbox
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running_worker(client, activities, [EpisodeWorkflow], queue)
        )
        deps = sql_deps(engine, client, config)
        app = create_app(config, deps=deps)
        if redelivery:
            await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60)
        )
        yield Api(http, Stack(app, deps, config, engine, ports))


async def open_episodes(api: Api, count: int, concurrency: int = 8) -> list[dict[str, Any]]:
    """`count` episodes opened over HTTP, each findable by its trace number."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> dict[str, Any]:
        async with gate:
            view = await api.open()
            await api.traced(view["trace_number"])
            return view

    return list(await asyncio.gather(*(one() for _ in range(count))))


class Delivery:
    """One payer webhook delivery: sent again, it keeps its id and its bytes."""

    def __init__(self, delivery_id: str, payer_id: str, body: bytes, content_type: str) -> None:
        self.delivery_id = delivery_id
        self.payer_id = payer_id
        self.body = body
        self.content_type = content_type

    async def send(self, http: httpx.AsyncClient) -> httpx.Response:
        headers = {
            "Content-Type": self.content_type,
            "Stepdown-Signature": signature(self.body),
            "Stepdown-Delivery": self.delivery_id,
        }
        url = f"/webhooks/payers/{self.payer_id}"
        return await http.post(url, content=self.body, headers=headers)


def signed(payer_id: str, trace: str, action: str, fmt: str = "json", **fields: Any) -> Delivery:
    body, content_type = decision_body(trace, action, fmt, **fields)
    return Delivery(new_id("dlv"), payer_id, body, content_type)

"""The API over real parts for one fault scenario: a worker, the SQL read model, the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from tests.support.api_client import Api
from tests.support.api_stack import running_stack
from tests.support.intake import new_id
from tests.support.webhooks import decision_body, signature

BASE_URL = "http://stepdown.test"


@asynccontextmanager
async def api_stack(
    client: Client, engine: Engine, *, redelivery: bool = False, **settings: Any
) -> AsyncIterator[Api]:
    """A worker on a fresh task queue and the app over ASGI; `redelivery` runs the lifespan
    (and so the inbox redelivery loop) as a deployed API does."""
    async with AsyncExitStack() as stack:
        running = await stack.enter_async_context(
            running_stack(client, engine, "faults", **settings)
        )
        if redelivery:
            await stack.enter_async_context(running.app.router.lifespan_context(running.app))
        transport = httpx.ASGITransport(app=running.app)
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60)
        )
        yield Api(http, running)


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

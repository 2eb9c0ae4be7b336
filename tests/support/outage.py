"""Temporal away: the stack's stores behind a Temporal client whose server never answers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client

from api.app import create_app
from api.deps import ApiDeps, temporal_health
from tests.support.api_client import Api
from tests.support.intake import approval
from tests.support.webhooks import decision_body, signature
from workflows.client import EpisodeClient
from workflows.temporal import DATA_CONVERTER


@dataclasses.dataclass
class Outage:
    """The same stores as the stack, but a Temporal client whose server never answers."""

    deps: ApiDeps
    http: httpx.AsyncClient

    def temporal_is_back(self, api: Api) -> None:
        self.deps.episodes = api.deps.episodes
        self.deps.temporal_health = api.deps.temporal_health


@asynccontextmanager
async def temporal_outage(api: Api) -> AsyncIterator[Outage]:
    """An app on `api`'s stores whose every Temporal call fails to connect."""
    # Nothing listens on port 1: every call fails to connect, as with Temporal stopped.
    nowhere = await Client.connect("127.0.0.1:1", data_converter=DATA_CONVERTER, lazy=True)
    queue = api.stack.settings.task_queue
    deps = dataclasses.replace(
        api.deps, episodes=EpisodeClient(nowhere, queue), temporal_health=temporal_health(nowhere)
    )
    app = create_app(api.stack.settings, deps=deps)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        yield Outage(deps, http)


async def send(http: httpx.AsyncClient, api: Api, view: dict[str, Any], delivery: str) -> Any:
    """The episode's payer approves through `http`, under `delivery`, once the request was sent."""
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    headers = {
        "Content-Type": content_type,
        "Stepdown-Signature": signature(body),
        "Stepdown-Delivery": delivery,
    }
    return await http.post(f"/webhooks/payers/{view['payer']['id']}", content=body, headers=headers)

"""An HTTP client of a test stack's app with the shortcuts most API tests repeat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.support.api_stack import Stack, register_payers
from tests.support.intake import intake_body, new_id
from tests.support.polling import eventually
from tests.support.webhooks import DEFAULT_SECRET, decision_body, signature


class Api:
    """An HTTP client of the app with the shortcuts most tests repeat."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack) -> None:
        self.http = http
        self.stack = stack
        self.deps = stack.deps

    @staticmethod
    def auth(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer t-{role}"}

    async def call(
        self, method: str, url: str, role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = kwargs.pop("headers", {}) | (self.auth(role) if role else {})
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def open(self, **overrides: Any) -> dict[str, Any]:
        """A new episode, opened through POST /episodes; returns its view.

        A payer named in `overrides` is registered first, as an admin would.
        """
        if "payer" in overrides:
            payer = overrides["payer"]
            await asyncio.to_thread(
                register_payers, self.deps.directory(), {payer["id"]: payer["plan_type"]}
            )
        response = await self.call("POST", "/episodes", "intake", json=intake_body(**overrides))
        assert response.status_code == 201, response.text
        view: dict[str, Any] = response.json()
        return view

    async def view(self, episode_id: str) -> dict[str, Any]:
        response = await self.call("GET", f"/episodes/{episode_id}", "ops")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def webhook(
        self,
        payer_id: str,
        body: bytes,
        content_type: str = "application/json",
        *,
        delivery: str | None = None,
        secret: str = DEFAULT_SECRET,
        signed: str | None = None,
    ) -> httpx.Response:
        headers = {
            "Content-Type": content_type,
            "Stepdown-Signature": signed or signature(body, secret),
            "Stepdown-Delivery": delivery or new_id("dlv"),
        }
        return await self.http.post(f"/webhooks/payers/{payer_id}", content=body, headers=headers)

    async def decide(
        self, view: dict[str, Any], action: str, fmt: str = "json", **fields: Any
    ) -> httpx.Response:
        """The episode's payer answers its latest request, signed, in format `fmt`.

        As a real payer, it answers only once the request was sent, which is after the read
        model learnt the trace number.
        """
        await self.traced(view["trace_number"])
        body, content_type = decision_body(view["trace_number"], action, fmt, **fields)
        return await self.webhook(view["payer"]["id"], body, content_type)

    async def traced(self, trace_number: str) -> str:
        """Waits until the read model finds an episode by `trace_number`; returns its id."""

        async def found() -> str | None:
            return await asyncio.to_thread(self.deps.read_model.episode_for_trace, trace_number)

        return await eventually(found)

    async def projected(self, episode_id: str, version: int) -> None:
        """Waits until the read model holds the episode at `version` or later."""

        async def caught_up() -> bool:
            found = await asyncio.to_thread(self.deps.read_model.summary, episode_id)
            return found is not None and found.version >= version

        await eventually(caught_up)


@asynccontextmanager
async def api_client(stack: Stack) -> AsyncIterator[Api]:
    """An `Api` on `stack`'s app over ASGI (no lifespan is run)."""
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        yield Api(http, stack)

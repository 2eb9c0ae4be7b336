"""Requests with known request ids, each remembered with the audit entry it must leave."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from api.auth import actor_of
from tests.support.api_client import Api
from tests.support.console_client import CSRF, Console, intake_form
from tests.support.webhooks import signature

# Every route that may change something, API and console alike.
CHANGING_ROUTES = {
    "POST /episodes",
    "POST /episodes/{episode_id}/p2p",
    "POST /episodes/{episode_id}/appeal",
    "POST /episodes/{episode_id}/discharge",
    "POST /episodes/{episode_id}/cancel",
    "POST /episodes/{episode_id}/information",
    "POST /episodes/{episode_id}/services",
    "POST /episodes/{episode_id}/claims",
    "POST /episodes/{episode_id}/failures/retry",
    "POST /episodes/{episode_id}/services/{service_id}/void",
    "POST /episodes/{episode_id}/services/{service_id}/correct",
    "POST /episodes/{episode_id}/decision-extension",
    "POST /episodes/{episode_id}/attendance",
    "PUT /episodes/{episode_id}/schedule",
    "POST /webhooks/payers/{payer_id}",
    "POST /webhooks/deliveries/{payer_id}/{delivery_id}/assign",
    "POST /console/episodes/new",
    "POST /console/episodes/{episode_id}/actions/{name}",
    "POST /claims/batches",
    "POST /claims/batches/{batch_id}/acknowledgement",
    "POST /notifications/read",
    "POST /notifications/{notification_id}/read",
    "PUT /payers/{payer_id}",
    "PUT /episodes/{episode_id}/owner",
    "POST /episodes/{episode_id}/notes",
    "POST /episodes/{episode_id}/attachments",
}
WEBHOOK_ROUTE = "POST /webhooks/payers/{payer_id}"
# What the payer hears in `status` on a 202, or by the status code of a refusal.
WEBHOOK_OUTCOME = {404: "unmatched", 409: "rejected", 415: "rejected", 422: "rejected"}


@dataclass(frozen=True)
class Sent:
    request_id: str
    actor: str
    role: str
    route: str
    episode_id: str | None
    status: int
    outcome: str


@asynccontextmanager
async def console_client(api: Api) -> AsyncIterator[Console]:
    """A cookie-keeping client of the console on the same app."""
    transport = httpx.ASGITransport(app=api.stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as web:
        yield Console(web, api)


class Walk:
    """Sends requests and remembers who sent them, to which route and episode, and the answer."""

    def __init__(self, api: Api, console: Console) -> None:
        self.api = api
        self.console = console
        self.sent: list[Sent] = []

    async def call(
        self,
        role: str,
        route: str,
        path: str,
        body: Any,
        episode_id: str | None,
        ok: str = "ok",
        method: str = "POST",
    ) -> Any:
        rid = uuid.uuid4().hex
        method = route.split(" ", 1)[0]
        response = await self.api.call(method, path, role, json=body, headers={"X-Request-ID": rid})
        problem = response.json() if response.status_code >= 400 else {}
        outcome = problem.get("code", ok)
        self._remember(rid, actor_of(f"t-{role}"), role, route, episode_id, response, outcome)
        return response.json()

    async def upload(self, role: str, route: str, path: str, file: Any, episode_id: str) -> Any:
        """A multipart upload, remembered like `call`."""
        rid = uuid.uuid4().hex
        response = await self.api.call(
            "POST", path, role, files={"file": file}, headers={"X-Request-ID": rid}
        )
        outcome = (
            response.json().get("code", "attached") if response.status_code >= 400 else ("attached")
        )
        self._remember(rid, actor_of(f"t-{role}"), role, route, episode_id, response, outcome)
        return response.json()

    async def webhook(self, payer: str, body: bytes, content_type: str, delivery: str) -> Any:
        rid = uuid.uuid4().hex
        headers = {
            "Content-Type": content_type,
            "Stepdown-Signature": signature(body),
            "Stepdown-Delivery": delivery,
            "X-Request-ID": rid,
        }
        response = await self.api.http.post(
            f"/webhooks/payers/{payer}", content=body, headers=headers
        )
        answer = response.json()
        accepted = response.status_code == 202
        outcome = answer["status"] if accepted else WEBHOOK_OUTCOME[response.status_code]
        episode_id = answer.get("episode_id")
        self._remember(rid, f"payer:{payer}", "payer", WEBHOOK_ROUTE, episode_id, response, outcome)
        return answer

    async def console_episode(self) -> str:
        """Opens an episode through the console's intake form and cancels it there."""
        await self.console.login("intake")
        form = intake_form()
        ep = form["episode_id"]
        await self._form("/console/episodes/new", form, "POST /console/episodes/new", ep, "created")
        action = "POST /console/episodes/{episode_id}/actions/{name}"
        await self._form(f"/console/episodes/{ep}/actions/cancel", {"reason": "moved"}, action, ep)
        return ep

    async def _form(
        self, path: str, form: dict[str, str], route: str, episode_id: str, ok: str = "ok"
    ) -> None:
        page = await self.console.web.get("/console", follow_redirects=True)
        found = CSRF.search(page.text)
        assert found is not None
        rid = uuid.uuid4().hex
        response = await self.console.web.post(
            path, data=form | {"csrf": found.group(1)}, headers={"X-Request-ID": rid}
        )
        assert response.status_code == 303, response.text
        self._remember(rid, actor_of("t-intake"), "intake", route, episode_id, response, ok)

    def _remember(
        self,
        rid: str,
        actor: str,
        role: str,
        route: str,
        episode_id: str | None,
        response: httpx.Response,
        outcome: str,
    ) -> None:
        assert response.headers["x-request-id"] == rid
        status = response.status_code
        self.sent.append(Sent(rid, actor, role, route, episode_id, status, outcome))

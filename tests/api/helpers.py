"""Builders for the API tests: intake and service bodies, signed webhooks, bounded polling."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from activities.episode import EpisodeActivities
from api.app import create_app
from api.deps import ApiDeps, sql_deps
from domain.model import PayerDecision
from payers.formats.examples import canonical_body, pas_body, x12_body
from payers.signature import sign
from settings import Settings, hash_token
from store.payers import PayerDirectory, PayerSettings
from store.phi import cipher_from_settings
from store.sql import SqlReadModel
from tests.support.fakes import FakePorts
from tests.support.temporal import running_worker
from tests.workflows.helpers import dated_command
from workflows.episode import EpisodeWorkflow

T = TypeVar("T")
TOKENS = {"t-intake": "intake", "t-billing": "billing", "t-ops": "ops", "t-admin": "admin"}
DEFAULT_SECRET = "whsec-default"
SECRETS = {"*": [DEFAULT_SECRET], "rotating-payer": ["whsec-old", "whsec-new"]}
RENDER = {
    "json": ("application/json", canonical_body),
    "fhir": ("application/fhir+json", pas_body),
    "x12": ("application/edi-x12", x12_body),
}


# Seals notes, event PHI and the other sealed columns at rest (store/phi.py); any 32 bytes,
# as production's own key would be. A CLI run against a stack's database needs them too.
PAYLOAD_KEYS = {"test-1": base64.b64encode(b"stepdown-test-notes-key-32-bytes").decode()}


def api_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        # Stored as production stores them: hashes; callers still send the plain tokens.
        "STEPDOWN_API_TOKENS": {hash_token(token): role for token, role in TOKENS.items()},
        "STEPDOWN_WEBHOOK_SECRETS": SECRETS,
        "STEPDOWN_TEMPORAL_TIMEOUT": 15,
        "STEPDOWN_REDELIVERY_INTERVAL": 0.2,
        # The shared stacks serve every test from one address: only the throttle tests,
        # on their own app, count failures to a low limit.
        "STEPDOWN_BEARER_FAILURES_PER_ADDRESS": 100_000,
        "STEPDOWN_SIGNIN_FAILURES_PER_ADDRESS": 100_000,
        "STEPDOWN_SIGNIN_FAILURES_PER_ACCOUNT": 100_000,
        # Seals notes at rest (store/notes.py); any 32 bytes, as production's own key would be.
        "STEPDOWN_PAYLOAD_KEYS": PAYLOAD_KEYS,
    }
    return Settings.model_validate(values | overrides)


def today() -> date:
    return datetime.now(UTC).date()


def new_id(prefix: str = "ep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# What an 837I needs of the intake (2010BA N3/N4, 2310A): a claim is not sent without them.
ADDRESS = {"line": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"}
ATTENDING = {"npi": "1234567893", "last_name": "Okafor", "first_name": "Ada"}


def intake_body(**overrides: Any) -> dict[str, Any]:
    body = dated_command(today(), **overrides).model_dump(
        mode="json", exclude={"type", "policy", "actor"}
    )
    if "patient" not in overrides:
        body["patient"]["address"] = dict(ADDRESS)
    if "attending" not in overrides:
        body["attending"] = dict(ATTENDING)  # a copy: tests (the fuzzer) change bodies
    return body


def service_line(day: date | None = None, **overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "service_id": new_id("S"),
        "date": (day or today()).isoformat(),
        "code": "S9480",
        "revenue_code": "0905",
        "minutes": 180,
        "units": 1,
        "modifiers": [],
        "rendering_npi": "1234567893",
        "roster_signed": True,
        "charge": "150.00",
    }
    return line | overrides


def approval(days: int = 40, units: int = 20, number: str = "AUTH-1") -> dict[str, Any]:
    start = today()
    return {
        "authorization_number": number,
        "start": start,
        "end": start + timedelta(days=days),
        "units": units,
        "service_codes": ("S9480", "90853", "0905"),
    }


def decision_body(trace: str, action: str, fmt: str = "json", **fields: Any) -> tuple[bytes, str]:
    decision = PayerDecision.model_validate({"trace_number": trace, "action": action, **fields})
    content_type, render = RENDER[fmt]
    return render(decision), content_type


def signature(body: bytes, secret: str = DEFAULT_SECRET, at: float | None = None) -> str:
    return sign(secret, body, int(time.time() if at is None else at))


# The payers the tests open episodes for unless they name another; webhook-only, so their
# secrets come from STEPDOWN_WEBHOOK_SECRETS as before the directory existed.
SEEDED_PAYERS = {"acme-medicaid": "medicaid_managed_care", "rotating-payer": "commercial"}


def register_payers(directory: PayerDirectory, payers: dict[str, str]) -> None:
    """Registers each payer id with its plan type as a webhook-only payer, unless known."""
    for payer_id, plan_type in payers.items():
        if directory.get(payer_id) is None:
            settings = PayerSettings.model_validate({"plan_type": plan_type, "channel": "webhook"})
            directory.put(payer_id, settings, datetime.now(UTC))


@dataclass
class Stack:
    app: FastAPI
    deps: ApiDeps
    settings: Settings
    engine: Engine
    ports: FakePorts


@asynccontextmanager
async def running_stack(
    client: Client, engine: Engine, name: str, **settings: Any
) -> AsyncIterator[Stack]:
    """The app over real parts: a worker on a fresh task queue projecting into `engine`'s SQL
    read model, fake payer ports, and the API wired to both (no lifespan is run)."""
    queue = f"tq-{name}-{uuid.uuid4().hex}"
    config = api_settings(STEPDOWN_TASK_QUEUE=queue, **settings)
    ports = FakePorts()
    # The worker seals and indexes with the payload keys the API reads with, as in production.
    read_model = SqlReadModel(engine, cipher_from_settings(config))
    activities = EpisodeActivities(ports.payer_gateway, read_model, ports.notifier, ports.outbox)
    async with running_worker(client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(engine, client, config)
        register_payers(deps.directory(), SEEDED_PAYERS)
        yield Stack(create_app(config, deps=deps), deps, config, engine, ports)


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


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Polls `check` until it returns something truthy; the read model is eventually consistent."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {timeout} s")
        await asyncio.sleep(0.05)

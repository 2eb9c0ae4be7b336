"""The API over real parts for tests: its settings, seeded payers, a worker and the app.

A stack is a worker on a fresh task queue projecting into an SQL read model, fake payer
ports, and the app wired to both; tiers share one per session and keep apart by uuid ids.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from activities.episode import EpisodeActivities
from api.app import create_app
from api.deps import ApiDeps, sql_deps
from settings import Settings, hash_token
from store.db import make_engine
from store.payers import PayerDirectory, PayerSettings
from store.phi import cipher_from_settings
from store.sql import SqlReadModel
from tests.support.db import migrated_database
from tests.support.fakes import FakePorts
from tests.support.temporal import running_worker
from tests.support.webhooks import SECRETS
from workflows.episode import EpisodeWorkflow

TOKENS = {"t-intake": "intake", "t-billing": "billing", "t-ops": "ops", "t-admin": "admin"}

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


@contextmanager
def migrated_engine(backend: str, directory: Path) -> Iterator[Engine]:
    """An engine on a fresh database of `backend` ("sqlite" or "postgres") migrated to head."""
    with migrated_database(backend, directory) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()

"""PHI at rest through the whole stack (issue 14): the worker and the API both seal with the
payload keys; reads, webhooks and the patient search keep working. SQLite and PostgreSQL.

A database of its own: sealed rows must not meet the shared stack's key-less read model.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, select
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from api.app import create_app
from api.deps import sql_deps
from store.db import make_engine
from store.phi import cipher_from_settings
from store.schema import EventRow, InboxRow
from store.sql import SqlReadModel
from tests.support.api_client import Api
from tests.support.api_stack import SEEDED_PAYERS, Stack, api_settings, register_payers
from tests.support.db import DATABASES, migrated_database
from tests.support.fakes import FakePorts
from tests.support.intake import approval, new_id
from tests.support.temporal import running_worker
from tests.support.webhooks import decision_body
from workflows.episode import EpisodeWorkflow

KEYS = {"k-2026": base64.b64encode(bytes(range(32))).decode()}


@pytest.fixture(scope="module", params=DATABASES)
def sealed_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    directory: Path = tmp_path_factory.mktemp("phi-db")
    with migrated_database(request.param, directory) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def api(dev_env: WorkflowEnvironment, sealed_engine: Engine) -> AsyncIterator[Api]:
    queue = f"tq-phi-{uuid.uuid4().hex}"
    settings = api_settings(STEPDOWN_TASK_QUEUE=queue, STEPDOWN_PAYLOAD_KEYS=KEYS)
    cipher = cipher_from_settings(settings)
    assert cipher is not None
    ports = FakePorts()
    read_model = SqlReadModel(sealed_engine, cipher)
    activities = EpisodeActivities(ports.payer_gateway, read_model, ports.notifier, ports.outbox)
    async with running_worker(dev_env.client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(sealed_engine, dev_env.client, settings)
        register_payers(deps.directory(), SEEDED_PAYERS)
        stack = Stack(create_app(settings, deps=deps), deps, settings, sealed_engine, ports)
        transport = httpx.ASGITransport(app=stack.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
            yield Api(http, stack)


def stored_events(engine: Engine, episode_id: str) -> str:
    with engine.connect() as connection:
        rows = connection.scalars(select(EventRow.data).where(EventRow.episode_id == episode_id))
        return json.dumps(list(rows))


async def test_the_read_model_keeps_patients_sealed_and_reads_them_plain(api: Api) -> None:
    member = f"MBR{uuid.uuid4().hex[:8].upper()}"
    address = {"line": "634 Cleveland Ave", "line2": None, "city": "Montgomery", "state": "AL",
               "zip": "36104"}  # fmt: skip
    patient = {"id": "P-7", "name": "Rosa Parks", "birth_date": "1961-02-04", "member_id": member,
               "address": address}  # fmt: skip
    view = await api.open(patient=patient)
    await api.projected(view["episode_id"], view["version"])

    raw = await asyncio.to_thread(stored_events, api.stack.engine, view["episode_id"])
    events = await api.call("GET", f"/episodes/{view['episode_id']}/events", "ops")

    # The address is the patient's too: sealed with the rest (837I 2010BA reads it plain).
    for secret in (member, "Rosa", "1961-02-04", "Cleveland Ave", "36104"):
        assert secret not in raw
    assert events.json()[0]["data"]["patient"] == patient


async def test_ops_find_a_patients_episodes_by_member_id_or_name(api: Api) -> None:
    member = f"MBR{uuid.uuid4().hex[:8].upper()}"
    name = f"Ida {uuid.uuid4().hex[:6]}"
    patient = {"id": "P-8", "name": name, "birth_date": "1970-01-01", "member_id": member}
    view = await api.open(patient=patient)
    await api.projected(view["episode_id"], view["version"])

    by_member = await api.call(
        "POST", "/episodes/search", "ops", json={"member_id": member.lower()}
    )
    by_name = await api.call("POST", "/episodes/search", "ops", json={"patient_name": name.upper()})
    nobody = await api.call("POST", "/episodes/search", "ops", json={"member_id": "NOPE"})
    empty = await api.call("POST", "/episodes/search", "ops", json={})
    intake = await api.call("POST", "/episodes/search", "intake", json={"member_id": member})
    stranger = await api.call("POST", "/episodes/search", json={"member_id": member})

    assert [s["episode_id"] for s in by_member.json()] == [view["episode_id"]]
    assert [s["episode_id"] for s in by_name.json()] == [view["episode_id"]]
    assert by_member.headers["cache-control"] == "no-store"
    assert nobody.json() == []
    assert (empty.status_code, intake.status_code, stranger.status_code) == (422, 403, 401)
    audit = await api.call("GET", "/audit?limit=20", "ops")
    assert any(e["action"] == "episode.search" for e in audit.json())


async def test_a_webhook_body_is_sealed_in_the_inbox_and_still_applied(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    delivery = new_id("dlv")

    response = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)

    assert response.status_code == 202 and response.json()["status"] == "applied"
    with api.stack.engine.connect() as connection:
        query = select(InboxRow.body).where(InboxRow.delivery_id == delivery)
        stored = connection.scalars(query).one()
    assert view["trace_number"].encode() not in stored and b"AUTH-1" not in stored
    entry = await asyncio.to_thread(api.deps.inbox.get, delivery, "acme-medicaid")
    assert entry is not None and entry.body == body

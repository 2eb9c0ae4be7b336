"""Episodes of a Da Vinci PAS payer over real parts: intake → workflow → the worker's channel
gateway → `$submit` to the simulator over HTTP (SMART token) → the answer in the webhook inbox
→ the redelivery loop → the episode; `$inquire` after a pend; GET /episodes/{id}/submissions.
And the IG's own example responses driving an episode through the signed webhook."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities, PendedInquiry
from api.app import create_app
from api.deps import sql_deps
from api.redelivery import Redelivery
from payers.channels import ChannelGateway
from payers.formats.pas_request import Provider
from payers.pas_gateway import PasGateway
from payers.simulator import create_app as simulator_app
from store.payers import PayerSettings
from store.sql import SqlReadModel, SqlWebhookInbox
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from tests.support.api_client import Api
from tests.support.api_stack import Stack, api_settings
from tests.support.fakes import FakePorts
from tests.support.http import served
from tests.support.intake import new_id, service_line, today
from tests.support.pas_keys import key_pair
from tests.support.polling import eventually
from tests.support.simulator_config import config
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow

CLIENT = "stepdown-api-test"
EXAMPLES = Path(__file__).parents[1] / "payers" / "fixtures" / "davinci"


@dataclass
class PasStack:
    api: Api
    simulator: FastAPI
    url: str
    activities: EpisodeActivities
    private_ref: str

    def register(self, payer_id: str) -> None:
        pas = {
            "base_url": f"{self.url}/fhir",
            "token_url": f"{self.url}/fhir/auth/token",
            "client_id": CLIENT,
            "private_key": self.private_ref,
            "algorithm": "RS384",
        }
        settings = PayerSettings.model_validate(
            {"plan_type": "medicaid_managed_care", "channel": "pas", "pas": pas}
        )
        self.api.deps.directory().put(payer_id, settings, datetime.now(UTC))

    def answers(self, action: str) -> None:
        self.simulator.state.simulator.config.mix = {action: 1.0}

    async def redeliver_until(self, episode_id: str, state: str) -> dict[str, Any]:
        loop = Redelivery(self.api.deps, 15, timedelta(seconds=30))

        async def reached() -> dict[str, Any] | None:
            await loop.run_once()
            view = await self.api.view(episode_id)
            return view if view["state"] == state else None

        return await eventually(reached, timeout=20)


@pytest_asyncio.fixture(loop_scope="session")
async def pas_stack(
    dev_env: WorkflowEnvironment, api_engine: Engine, tmp_path: Path
) -> AsyncIterator[PasStack]:
    keys = key_pair(tmp_path, "RS384")
    sim = simulator_app(config=config(mix={"A1": 1.0}, pas_clients={CLIENT: keys.public_pem}))
    async with served(sim, log_level="warning") as url:
        sim.state.pas_config.token_url = f"{url}/fhir/auth/token"
        async with pas_api(dev_env.client, api_engine, "pas") as (api, activities):
            yield PasStack(api, sim, url, activities, keys.private_ref)


@asynccontextmanager
async def pas_api(
    client: Client, engine: Engine, name: str
) -> AsyncIterator[tuple[Api, EpisodeActivities]]:
    """The API over a worker whose payer channels send PAS requests through PasGateway."""
    directory, log = SqlPayerDirectory(engine), SqlSubmissionLog(engine)
    provider = Provider("Riverside CMHC", "1234567893")
    pas = PasGateway(directory, log, SqlWebhookInbox(engine), provider)
    ports = FakePorts()
    activities = EpisodeActivities(
        ChannelGateway(directory, log, pas=pas), SqlReadModel(engine), ports.notifier,
        ports.outbox,
    )  # fmt: skip
    queue = f"tq-{name}-{uuid.uuid4().hex}"
    async with running_worker(client, activities, [EpisodeWorkflow], queue):
        settings = api_settings(STEPDOWN_TASK_QUEUE=queue)
        deps = sql_deps(engine, client, settings)
        app = create_app(settings, deps=deps)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield Api(http, Stack(app, deps, settings, engine, ports)), activities


async def open_for_pas_payer(stack: PasStack) -> dict[str, Any]:
    payer_id = new_id("pas")
    stack.register(payer_id)
    return await stack.api.open(payer={"id": payer_id, "plan_type": "medicaid_managed_care"})


async def submissions(api: Api, episode_id: str, count: int) -> list[dict[str, Any]]:
    async def logged() -> list[dict[str, Any]]:
        response = await api.call("GET", f"/episodes/{episode_id}/submissions", "ops")
        found: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
        settled = [s for s in found if s["status"] != "sending"]
        return settled if len(settled) == count else []

    return await eventually(logged, timeout=20)


async def bill_today(api: Api, episode_id: str, code: str = "S9480") -> dict[str, Any]:
    line = service_line(code=code)
    url = f"/episodes/{episode_id}/services"
    await api.call("POST", url, "billing", json={"services": [line]})
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    response = await api.call("POST", f"/episodes/{episode_id}/claims", "billing", json=claim)
    body: dict[str, Any] = response.json()
    return body


async def test_a_pas_payers_synchronous_approval_authorizes_the_episode(
    pas_stack: PasStack,
) -> None:
    pas_stack.answers("A1")
    view = await open_for_pas_payer(pas_stack)

    [sent] = await submissions(pas_stack.api, view["episode_id"], 1)
    authorized = await pas_stack.redeliver_until(view["episode_id"], "authorized")

    assert (sent["channel"], sent["status"], sent["purpose"]) == ("pas", "answered", "initial")
    bundle = Bundle.model_validate_json(sent["payload"])
    assert bundle.entry[0].resource.identifier[0].value == view["trace_number"]
    assert json.loads(sent["response"])["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    assert authorized["authorization"]["number"].startswith("SIM-")
    claim = await bill_today(pas_stack.api, view["episode_id"])
    assert claim["status"] == "released", claim


async def test_a_pended_request_is_authorized_after_inquiring(pas_stack: PasStack) -> None:
    pas_stack.answers("A4")
    view = await open_for_pas_payer(pas_stack)
    await submissions(pas_stack.api, view["episode_id"], 1)
    await pas_stack.redeliver_until(view["episode_id"], "info_requested")
    summary = pas_stack.api.deps.read_model.summary(view["episode_id"])
    assert summary is not None
    inquiry = PendedInquiry(
        episode_id=view["episode_id"], payer_id=summary.payer_id,
        trace_number=view["trace_number"], payload=PAYLOAD,
    )  # fmt: skip

    still = await pas_stack.activities.inquire_payer(inquiry)
    final = await pas_stack.activities.inquire_payer(inquiry.model_copy(update={"attempt": 2}))
    authorized = await pas_stack.redeliver_until(view["episode_id"], "authorized")

    assert (still.action, final.action) == ("A4", "A1")
    assert authorized["authorization"] is not None
    logged = await submissions(pas_stack.api, view["episode_id"], 3)
    assert [s["purpose"] for s in logged] == ["initial", "inquiry", "inquiry"]


PAYLOAD = {
    "requested": {"start": today().isoformat(), "units": 20, "unit_type": "days",
                  "service_codes": ["S9480", "90853", "0905"]},
    "member_id": "M-1", "diagnoses": ["F33.1"], "from_level": "2.5", "to_level": "2.1",
}  # fmt: skip


async def test_the_submissions_route_is_ops_only_and_knows_its_episodes(
    pas_stack: PasStack,
) -> None:
    api = pas_stack.api
    url = f"/episodes/{new_id()}/submissions"

    assert (await api.call("GET", url)).status_code == 401
    assert (await api.call("GET", url, "billing")).status_code == 403
    missing = await api.call("GET", url, "ops")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )


def example(name: str, trace: str) -> bytes:
    """The IG's example, answering our request: its trace number, and dates from today."""
    document = json.loads((EXAMPLES / f"{name}.json").read_text())
    claim_response = copy.deepcopy(document["entry"][0]["resource"])
    claim_response["identifier"][0]["value"] = trace
    for item in claim_response.get("item", []):
        for ext in item.get("extension", []):
            if "valuePeriod" in ext:
                end = today() + timedelta(days=30)
                ext["valuePeriod"] = {"start": today().isoformat(), "end": end.isoformat()}
    document["entry"][0]["resource"] = claim_response
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("name", "state"),
    [("approved", "authorized"), ("denied", "denied"), ("pended", "info_requested")],
)
async def test_the_igs_example_responses_drive_the_episode(
    pas_stack: PasStack, name: str, state: str
) -> None:
    api = pas_stack.api
    payer_id = new_id("hook")
    view = await api.open(payer={"id": payer_id, "plan_type": "medicaid_managed_care"})
    await api.traced(view["trace_number"])

    answered = await api.webhook(payer_id, example(name, view["trace_number"]),
                                 "application/fhir+json")  # fmt: skip

    assert answered.status_code == 202, answered.text
    after = await api.view(view["episode_id"])
    assert after["state"] == state
    if name == "approved":
        # Its authorized detail is a service type (1365#3): the requested codes stay covered.
        assert after["authorization"]["service_codes"] == ["S9480", "90853", "0905"]
        claim = await bill_today(api, view["episode_id"], "90853")
        assert claim["status"] == "released", claim

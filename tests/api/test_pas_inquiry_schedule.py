"""The episode inquires about a pended Da Vinci PAS request on its own clock (DOMAIN §8), on
the time-skipping Temporal test server: intake → `$submit` to the PAS simulator (SMART token)
answered A4 → the inbox → the episode schedules `$inquire` → each inquiry's answer enters the
webhook inbox and the same decision path → A1 ends the inquiries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.redelivery import Redelivery
from payers.simulator import create_app as simulator_app
from store.payers import PayerSettings
from tests.api.test_pas_episode import pas_api
from tests.support.api_client import Api
from tests.support.http import served
from tests.support.intake import new_id
from tests.support.pas_keys import key_pair
from tests.support.polling import eventually
from tests.support.simulator_config import config
from tests.support.temporal import find_binary
from workflows.temporal import DATA_CONVERTER, register_search_attributes

CLIENT = "stepdown-inquiry-test"


class Skipping:
    def __init__(self, env: WorkflowEnvironment, api: Api, url: str, private_ref: str) -> None:
        self.env, self.api, self.url, self.private_ref = env, api, url, private_ref

    async def open(self) -> dict[str, Any]:
        payer_id = new_id("pas")
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
        return await self.api.open(payer={"id": payer_id, "plan_type": "medicaid_managed_care"})

    async def sent(self, episode_id: str, count: int) -> list[dict[str, Any]]:
        """The episode's submissions once `count` of them are answered."""

        async def logged() -> list[dict[str, Any]]:
            response = await self.api.call("GET", f"/episodes/{episode_id}/submissions", "ops")
            found: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
            settled = [s for s in found if s["status"] != "sending"]
            return settled if len(settled) == count else []

        return await eventually(logged, timeout=20)

    async def redeliver_until(self, episode_id: str, check: Any) -> dict[str, Any]:
        loop = Redelivery(self.api.deps, 15, timedelta(seconds=30))

        async def reached() -> dict[str, Any] | None:
            await loop.run_once()
            view = await self.api.view(episode_id)
            return view if check(view) else None

        return await eventually(reached, timeout=20)

    async def events(self, episode_id: str) -> list[str]:
        response = await self.api.call("GET", f"/episodes/{episode_id}/events", "ops")
        return [e["type"] for e in response.json()]


@pytest_asyncio.fixture(loop_scope="session")
async def skipping(api_engine: Engine, tmp_path: Path) -> AsyncIterator[Skipping]:
    keys = key_pair(tmp_path, "RS384")
    sim = simulator_app(config=config(mix={"A4": 1.0}, pas_clients={CLIENT: keys.public_pem}))
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=find_binary("temporal-test-server")
    )
    async with env, served(sim, log_level="warning") as url:
        await register_search_attributes(env.client, env.client.namespace)
        sim.state.pas_config.token_url = f"{url}/fhir/auth/token"
        # Two inquiries hear A4 again; the third hears the final A1.
        sim.state.pas_config.pending_inquiries = 2
        async with pas_api(env.client, api_engine, "inquire") as (api, _):
            yield Skipping(env, api, url, keys.private_ref)


def pended(view: dict[str, Any]) -> bool:
    return bool(view["state"] == "info_requested")


async def test_a_pended_pas_request_is_inquired_on_schedule_until_approved(
    skipping: Skipping,
) -> None:
    view = await skipping.open()
    episode = view["episode_id"]
    await skipping.sent(episode, 1)
    await skipping.redeliver_until(episode, pended)
    deadlines = (await skipping.api.view(episode))["deadlines"]
    assert "payer_inquiry_due" in [d["kind"] for d in deadlines]

    # Nothing is asked before the interval (60 minutes by default) has passed.
    await skipping.env.sleep(timedelta(minutes=30))
    assert len(await skipping.sent(episode, 1)) == 1

    await skipping.env.sleep(timedelta(minutes=31))
    first = await skipping.sent(episode, 2)
    await skipping.redeliver_until(episode, pended)
    for count in (3, 4):
        await skipping.env.sleep(timedelta(minutes=60))
        await skipping.sent(episode, count)
        if count == 3:
            await skipping.redeliver_until(episode, pended)
    authorized = await skipping.redeliver_until(episode, lambda v: v["state"] == "authorized")

    assert [s["purpose"] for s in first] == ["initial", "inquiry"]
    assert authorized["authorization"]["number"].startswith("SIM-")
    types = await skipping.events(episode)
    assert types.count("payer_inquired") == 3
    assert types.count("information_requested") == 1  # the inquiries' A4 changed nothing
    assert "authorization_granted" in types
    # The final answer ended the schedule: no further inquiry goes out.
    await skipping.env.sleep(timedelta(hours=3))
    assert len(await skipping.sent(episode, 4)) == 4

"""Temporal away: webhooks are answered `queued`, then applied by the redelivery loop, once each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from api.app import create_app
from api.redelivery import Redelivery
from tests.support.api_client import Api
from tests.support.intake import new_id
from tests.support.outage import Outage, send, temporal_outage
from tests.support.polling import eventually
from tests.support.webhooks import decision_body


@pytest_asyncio.fixture(loop_scope="session")
async def outage(api: Api) -> AsyncIterator[Outage]:
    async with temporal_outage(api) as running:
        yield running


async def statuses(api: Api, deliveries: list[str]) -> list[str]:
    entries = [await asyncio.to_thread(api.deps.inbox.get, d) for d in deliveries]
    return [e.status if e else "missing" for e in entries]


async def test_decisions_during_an_outage_are_queued_then_applied_once(
    api: Api, outage: Outage
) -> None:
    views = [await api.open() for _ in range(3)]
    deliveries = [new_id("dlv") for _ in views]

    answers = [await send(outage.http, api, v, d) for v, d in zip(views, deliveries, strict=True)]
    repeat = await send(outage.http, api, views[0], deliveries[0])

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["status"] for a in answers] == ["queued"] * 3
    assert repeat.json() == answers[0].json() | {"status": "duplicate"}
    assert await statuses(api, deliveries) == ["queued"] * 3
    assert [(await api.view(v["episode_id"]))["state"] for v in views] == ["auth_requested"] * 3

    outage.temporal_is_back(api)
    loop = Redelivery(outage.deps, timeout=10, grace=timedelta(seconds=60))
    await loop.run_once()
    await loop.run_once()

    assert await statuses(api, deliveries) == ["applied"] * 3
    for view in views:
        after = await api.view(view["episode_id"])
        assert (after["state"], after["version"]) == ("authorized", view["version"] + 1)
    late = await send(api.http, api, views[1], deliveries[1])
    assert late.json() == answers[1].json() | {"status": "duplicate"}
    assert (await api.view(views[1]["episode_id"]))["version"] == views[1]["version"] + 1


async def test_a_queued_decision_the_episode_no_longer_takes_is_kept_rejected(
    api: Api, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    view = await api.open()
    delivery = new_id("dlv")
    assert (await send(outage.http, api, view, delivery)).json()["status"] == "queued"
    path = f"/episodes/{view['episode_id']}/cancel"
    cancelled = await api.call("POST", path, "ops", json={"reason": "patient moved"})
    outage.temporal_is_back(api)

    with caplog.at_level(logging.WARNING, logger="stepdown.api.redelivery"):
        await Redelivery(outage.deps, timeout=10, grace=timedelta(seconds=60)).run_once()

    assert await statuses(api, [delivery]) == ["rejected"]
    assert (await api.view(view["episode_id"]))["version"] == cancelled.json()["version"]
    assert any(delivery in r.getMessage() for r in caplog.records)


async def test_a_delivery_kept_before_a_crash_is_applied_by_the_loop(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A3", reason="no")
    delivery = new_id("dlv")
    long_ago = api.deps.clock() - timedelta(minutes=5)
    # The row committed, then the process died before answering.
    await asyncio.to_thread(
        api.deps.inbox.receive, delivery, "acme-medicaid", content_type, {}, body, long_ago
    )

    await Redelivery(api.deps, timeout=10, grace=timedelta(seconds=60)).run_once()

    assert await statuses(api, [delivery]) == ["applied"]
    assert (await api.view(view["episode_id"]))["state"] == "denied"


async def test_the_lifespan_runs_the_loop_and_stops_it_on_shutdown(
    api: Api, outage: Outage
) -> None:
    view = await api.open()
    delivery = new_id("dlv")
    app = create_app(api.stack.settings, deps=outage.deps)

    async with app.router.lifespan_context(app):
        queued = await send(outage.http, api, view, delivery)
        assert queued.json()["status"] == "queued"
        outage.temporal_is_back(api)

        async def applied() -> bool:
            return await statuses(api, [delivery]) == ["applied"]

        await eventually(applied)

    assert (await api.view(view["episode_id"]))["state"] == "authorized"


async def test_health_names_temporal_when_it_does_not_answer(api: Api, outage: Outage) -> None:
    up = await api.http.get("/healthz")
    down = await outage.http.get("/healthz")

    assert (up.status_code, up.json()["checks"]) == (
        200,
        {"api": "ok", "database": "ok", "temporal": "ok"},
    )
    assert down.status_code == 503
    assert down.json()["checks"]["temporal"].startswith("unavailable")
    assert down.json()["detail"] == "not answering: temporal"

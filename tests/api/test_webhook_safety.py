"""Payer deliveries that are never replayed, never lost, never silently dropped (issue 14).

A captured message re-sent under a new delivery id, a decision that arrives before (or after
losing) the read model's knowledge of its trace number, a delivery id reused with another
body, and decisions whose dates or units are absurd. SQLite and PostgreSQL, real Temporal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.redelivery import Redelivery
from domain.timing import trace_number
from payers.signature import fingerprint
from store.db import make_engine
from store.sql import SqlReadModel
from tests.support.api_client import Api
from tests.support.api_episodes import forget_routes, unmatched_delivery
from tests.support.intake import approval, intake_body, new_id, today
from tests.support.webhooks import decision_body, signature


async def events_of(api: Api, episode_id: str) -> list[str]:
    answer = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
    return [event["type"] for event in answer.json()]


async def audit_of(api: Api, episode_id: str) -> list[dict[str, Any]]:
    answer = await api.call("GET", f"/audit?episode_id={episode_id}", "ops")
    found: list[dict[str, Any]] = answer.json()
    return found


async def test_a_captured_webhook_resent_under_a_new_delivery_id_is_never_applied_again(
    api: Api,
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A4", reason="send notes")
    captured = signature(body)
    first_id = new_id("dlv")
    first = await api.webhook(
        "acme-medicaid", body, content_type, delivery=first_id, signed=captured
    )
    info = await api.call(
        "POST", f"/episodes/{view['episode_id']}/information", "intake", json={"note": "sent"}
    )
    version = (await api.view(view["episode_id"]))["version"]

    replay = await api.webhook("acme-medicaid", body, content_type, signed=captured)

    assert first.status_code == 202 and info.status_code == 200, info.text
    assert replay.status_code == 202
    # The first delivery's answer, outcome included (as it was then), now as a duplicate.
    assert replay.json() == first.json() | {"status": "duplicate"}
    assert replay.json()["delivery_id"] == first_id
    assert replay.json()["episode_id"] == view["episode_id"]
    assert (await api.view(view["episode_id"]))["version"] == version
    await api.projected(view["episode_id"], version)
    assert (await events_of(api, view["episode_id"])).count("information_requested") == 1
    [audit] = [a for a in await audit_of(api, view["episode_id"]) if a["outcome"] == "replay"]
    assert audit["actor"] == "payer:acme-medicaid"


async def test_a_decision_finds_its_episode_by_the_intake_route_after_a_rebuild(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    # A rebuild empties the episode's projection; the route written at intake stays.
    await asyncio.to_thread(api.deps.read_model.delete_episode, view["episode_id"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())

    response = await api.webhook("acme-medicaid", body, content_type)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "applied"
    assert (await api.view(view["episode_id"]))["state"] == "authorized"


async def test_intake_routes_the_first_trace_number_before_the_workflow_answers(
    api: Api,
) -> None:
    episode_id = new_id()

    view = await api.open(episode_id=episode_id)

    route = await asyncio.to_thread(api.deps.read_model.trace_route, view["trace_number"])
    assert view["trace_number"] == trace_number(episode_id, 1)
    assert route is not None and (route.episode_id, route.payer_id) == (episode_id, "acme-medicaid")


async def test_an_unmatched_delivery_is_applied_when_the_payer_retries_it(api: Api) -> None:
    episode_id = new_id()
    trace = trace_number(episode_id, 1)
    body, content_type = decision_body(trace, "A1", **approval())
    delivery = new_id("dlv")
    early = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)
    await api.open(episode_id=episode_id)

    retried = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)
    again = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)

    assert early.status_code == 404 and early.json()["code"] == "unmatched"
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "applied"
    assert again.json()["status"] == "duplicate"
    assert (await api.view(episode_id))["state"] == "authorized"


async def test_the_redelivery_loop_applies_an_unmatched_delivery_once_its_episode_appears(
    api: Api,
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    forget_routes(api, view["episode_id"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    delivery = new_id("dlv")
    lost = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)
    # The episode becomes known again (as intake or the projection record it).
    await asyncio.to_thread(
        api.deps.read_model.record_trace,
        view["trace_number"],
        view["episode_id"],
        "acme-medicaid",
        api.deps.clock(),
    )

    loop = Redelivery(api.deps, timeout=15, grace=timedelta(seconds=0))
    await loop.run_once()

    entry = await asyncio.to_thread(api.deps.inbox.get, delivery, "acme-medicaid")
    assert lost.status_code == 404
    assert (entry.status, entry.episode_id) == ("applied", view["episode_id"])
    assert (await api.view(view["episode_id"]))["state"] == "authorized"
    audits = await audit_of(api, view["episode_id"])
    assert any(
        (a["action"], a["outcome"], a["actor"])
        == ("webhook.redelivery", "applied", "payer:acme-medicaid")
        for a in audits
    )


async def test_ops_assign_an_unmatched_delivery_to_its_episode_and_it_is_audited(
    api: Api,
) -> None:
    view = await api.open()
    delivery = await unmatched_delivery(api, view)
    url = f"/webhooks/deliveries/acme-medicaid/{delivery}/assign"

    assigned = await api.call("POST", url, "ops", json={"episode_id": view["episode_id"]})
    twice = await api.call("POST", url, "ops", json={"episode_id": view["episode_id"]})

    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "applied"
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_state"
    assert (await api.view(view["episode_id"]))["state"] == "authorized"
    audits = await audit_of(api, view["episode_id"])
    assert any(a["action"] == "webhook.assign" and a["outcome"] == "assigned" for a in audits)
    worklist = await api.call("GET", "/worklist?kind=webhook_unmatched", "ops")
    assert all(delivery not in item["detail"] for item in worklist.json())


async def test_assigning_to_a_wrong_episode_changes_nothing_and_keeps_it_unmatched(
    api: Api,
) -> None:
    view, other = await api.open(), await api.open()
    delivery = await unmatched_delivery(api, view)
    url = f"/webhooks/deliveries/acme-medicaid/{delivery}/assign"
    elsewhere = await api.open(payer={"id": new_id("payer"), "plan_type": "commercial"})

    wrong = await api.call("POST", url, "ops", json={"episode_id": other["episode_id"]})
    foreign = await api.call("POST", url, "ops", json={"episode_id": elsewhere["episode_id"]})
    unknown = await api.call("POST", url, "ops", json={"episode_id": new_id()})
    missing = await api.call(
        "POST",
        f"/webhooks/deliveries/acme-medicaid/{new_id('dlv')}/assign",
        "ops",
        json={"episode_id": view["episode_id"]},
    )
    malformed = await api.call("POST", url, "ops", json={"episode_id": "no spaces allowed"})
    intake = await api.call("POST", url, "intake", json={"episode_id": view["episode_id"]})
    stranger = await api.call("POST", url, json={"episode_id": view["episode_id"]})

    assert (wrong.status_code, wrong.json()["code"]) == (409, "unknown_trace")
    assert (foreign.status_code, foreign.json()["code"]) == (409, "payer_mismatch")
    assert unknown.status_code == 404 and missing.status_code == 404
    assert malformed.status_code == 422
    assert (intake.status_code, stranger.status_code) == (403, 401)
    entry = await asyncio.to_thread(api.deps.inbox.get, delivery, "acme-medicaid")
    assert entry.status == "unmatched"
    assert (await api.view(other["episode_id"]))["version"] == other["version"]


async def test_a_delivery_id_reused_with_another_body_is_409_naming_the_conflict(
    api: Api,
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    delivery = new_id("dlv")
    pend, content_type = decision_body(view["trace_number"], "A4", reason="notes")
    deny, _ = decision_body(view["trace_number"], "A3")
    first = await api.webhook("acme-medicaid", pend, content_type, delivery=delivery)

    reused = await api.webhook("acme-medicaid", deny, content_type, delivery=delivery)

    assert first.status_code == 202
    assert reused.status_code == 409
    problem = reused.json()
    assert problem["code"] == "delivery_id_reused"
    assert delivery in problem["detail"] and "different body" in problem["detail"]
    assert problem["errors"][0]["parameter"] == "Stepdown-Delivery"
    assert (await api.view(view["episode_id"]))["state"] == "info_requested"


async def test_another_payer_may_reuse_a_delivery_id(api: Api) -> None:
    ours = await api.open()
    theirs = await api.open(payer={"id": "rotating-payer", "plan_type": "commercial"})
    delivery = new_id("dlv")
    for view in (ours, theirs):
        await api.traced(view["trace_number"])
    body_a, content_type = decision_body(ours["trace_number"], "A1", **approval())
    body_b, _ = decision_body(theirs["trace_number"], "A1", **approval())

    a = await api.webhook("acme-medicaid", body_a, content_type, delivery=delivery)
    b = await api.webhook(
        "rotating-payer", body_b, content_type, delivery=delivery, secret="whsec-new"
    )

    assert (a.status_code, b.status_code) == (202, 202), b.text
    assert b.json()["status"] == "applied"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"end": "2999-01-01"}, "'end'"),
        ({"start": "1850-01-01"}, "'start'"),
        ({"decided_at": "0001-01-01T00:00:00+00:00"}, "'decided_at'"),
        ({"units": 10**6}, "units"),
    ],
)
async def test_a_decision_with_absurd_dates_or_units_is_422_naming_the_field(
    api: Api, fields: dict[str, Any], named: str
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    decision = approval() | {
        "start": today().isoformat(),
        "end": (today() + timedelta(days=30)).isoformat(),
    }
    body, content_type = decision_body(view["trace_number"], "A2", **(decision | fields))

    response = await api.webhook("acme-medicaid", body, content_type)

    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
    assert (await api.view(view["episode_id"]))["state"] == "auth_requested"


async def test_the_redelivery_loop_forgets_signatures_older_than_it_keeps_them(api: Api) -> None:
    old, recent = new_id("sig"), new_id("sig")
    now = api.deps.clock()
    inbox = api.deps.inbox
    await asyncio.to_thread(inbox.remember_signature, "p", old, "d-1", now - timedelta(hours=1))
    await asyncio.to_thread(inbox.remember_signature, "p", recent, "d-2", now)
    kept = timedelta(minutes=11)

    await Redelivery(api.deps, 15, timedelta(seconds=60), signature_ttl=kept).run_once()

    assert await asyncio.to_thread(inbox.remember_signature, "p", old, "d-3", now) == "d-3"
    assert await asyncio.to_thread(inbox.remember_signature, "p", recent, "d-3", now) == "d-2"


async def test_a_message_whose_first_delivery_was_never_kept_is_applied_under_its_new_id(
    api: Api,
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    at = int(time.time())
    # The signature was noted, then the database failed before the inbox row was written.
    noted = fingerprint(body, at)
    inbox = api.deps.inbox
    await asyncio.to_thread(
        inbox.remember_signature, "acme-medicaid", noted, "lost", api.deps.clock()
    )
    delivery = new_id("dlv")

    response = await api.webhook(
        "acme-medicaid", body, content_type, delivery=delivery, signed=signature(body, at=at)
    )

    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer.pop("episode")["state"] == "authorized"
    assert answer == {
        "delivery_id": delivery,
        "episode_id": view["episode_id"],
        "status": "applied",
    }
    assert (await api.view(view["episode_id"]))["state"] == "authorized"


async def test_intake_opens_even_when_the_database_cannot_take_the_route(api: Api) -> None:
    # Intake needs only Temporal (the projection writes the route before the request goes).
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", connect_args={"connect_timeout": 1}
    )
    deps = dataclasses.replace(api.deps, read_model=SqlReadModel(engine))
    transport = httpx.ASGITransport(app=create_app(api.stack.settings, deps=deps))
    body = intake_body()
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        opened = await http.post("/episodes", json=body, headers=Api.auth("intake"))
    engine.dispose()

    assert opened.status_code == 201, opened.text
    route = await api.traced(trace_number(body["episode_id"], 1))
    assert route == body["episode_id"]

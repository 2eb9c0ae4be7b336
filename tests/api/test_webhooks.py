"""The signed payer webhook: signatures, the inbox first, duplicates, unmatched and refused."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import httpx
import pytest

from api.app import create_app
from payers.signature import sign
from store.db import make_engine
from store.sql import SqlWebhookInbox
from tests.support.api_client import Api
from tests.support.intake import approval, new_id
from tests.support.polling import eventually
from tests.support.webhooks import DEFAULT_SECRET, decision_body, signature


async def stored(api: Api, delivery_id: str) -> Any:
    return await asyncio.to_thread(api.deps.inbox.get, delivery_id)


async def version(api: Api, view: dict[str, Any]) -> int:
    current: int = (await api.view(view["episode_id"]))["version"]
    return current


async def approve(api: Api, view: dict[str, Any], **kwargs: Any) -> httpx.Response:
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    return await api.webhook(view["payer"]["id"], body, content_type, **kwargs)


async def test_a_signed_decision_is_applied_202_and_kept_in_the_inbox(api: Api) -> None:
    view = await api.open()
    delivery = new_id("dlv")

    response = await approve(api, view, delivery=delivery)

    assert response.status_code == 202
    answer = response.json()
    # The answer tells the outcome: no second request to learn what the decision did.
    outcome = answer.pop("episode")
    assert answer == {
        "delivery_id": delivery,
        "episode_id": view["episode_id"],
        "status": "applied",
    }
    current = await api.view(view["episode_id"])
    assert current["state"] == "authorized"
    assert outcome == {
        "state": "authorized",
        "version": current["version"],
        "authorization": current["authorization"],
    }
    assert outcome["authorization"]["units"] == approval()["units"]
    entry = await stored(api, delivery)
    assert (entry.status, entry.episode_id, entry.attempts) == ("applied", view["episode_id"], 0)
    assert entry.headers["stepdown-delivery"] == delivery
    assert entry.response == {"status_code": 202, "body": response.json()}
    trail = (await api.call("GET", f"/audit?episode_id={view['episode_id']}", "ops")).json()
    # Written once, with the inbox row it settled (not again by the middleware).
    [audit] = [e for e in trail if e["route"].startswith("POST /webhooks")]
    assert (audit["actor"], audit["role"], audit["outcome"], audit["status_code"]) == (
        "payer:acme-medicaid",
        "payer",
        "applied",
        202,
    )
    assert audit["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("case", "secret", "skew"),
    [
        ("wrong secret", "whsec-guess", 0),
        ("stale", DEFAULT_SECRET, -301),
        ("future", DEFAULT_SECRET, 301),
    ],
)
async def test_a_bad_signature_is_401_and_nothing_but_a_log_line(
    api: Api, caplog: pytest.LogCaptureFixture, case: str, secret: str, skew: int
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    delivery = new_id("dlv")

    with caplog.at_level(logging.WARNING, logger="stepdown.security"):
        response = await api.webhook(
            view["payer"]["id"],
            body,
            content_type,
            delivery=delivery,
            signed=sign(secret, body, int(time.time()) + skew),
        )

    assert response.status_code == 401, case
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored(api, delivery) is None
    assert await version(api, view) == view["version"]
    [line] = [r for r in caplog.records if r.name == "stepdown.security"]
    assert "webhook refused" in line.getMessage()
    assert view["trace_number"] not in line.getMessage()


async def test_a_signature_just_inside_the_window_is_accepted(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())

    old = await api.webhook(
        "acme-medicaid", body, content_type, signed=signature(body, at=time.time() - 290)
    )

    assert old.status_code == 202


async def test_during_a_rotation_either_key_and_several_v1_values_verify(api: Api) -> None:
    payer = {"id": "rotating-payer", "plan_type": "commercial"}
    views = [await api.open(payer=payer) for _ in range(3)]
    for view in views:
        await api.traced(view["trace_number"])
    now = int(time.time())
    bodies = [decision_body(v["trace_number"], "A1", **approval())[0] for v in views]
    retired = sign("whsec-retired", bodies[0], now).split(",")[1]
    headers = [
        sign("whsec-new", bodies[0], now) + "," + retired,
        sign("whsec-old", bodies[1], now),
        sign(DEFAULT_SECRET, bodies[2], now),
    ]

    answers = [
        await api.webhook("rotating-payer", body, signed=header)
        for body, header in zip(bodies, headers, strict=True)
    ]

    # The payer's own secrets replace the "*" default, so the default secret is refused.
    assert [a.status_code for a in answers] == [202, 202, 401]


async def test_a_repeated_delivery_hears_the_first_answer_and_is_applied_once(api: Api) -> None:
    view = await api.open()
    delivery = new_id("dlv")
    first = await approve(api, view, delivery=delivery)
    applied = await version(api, view)

    again = await approve(api, view, delivery=delivery)

    assert first.json()["status"] == "applied"
    assert again.status_code == 202
    assert again.json() == first.json() | {"status": "duplicate"}
    assert await version(api, view) == applied
    await api.projected(view["episode_id"], applied)
    events = (await api.call("GET", f"/episodes/{view['episode_id']}/events", "ops")).json()
    assert [e["type"] for e in events].count("authorization_granted") == 1


async def test_a_delivery_id_another_payer_used_is_that_payers_own(api: Api) -> None:
    # Delivery ids are scoped per payer (issue 14): no conflict, and no access to the first.
    view = await api.open()
    delivery = new_id("dlv")
    await approve(api, view, delivery=delivery)
    body, content_type = decision_body(view["trace_number"], "A3")

    response = await api.webhook("other-payer", body, content_type, delivery=delivery)

    assert response.status_code == 404
    assert response.json()["code"] == "unmatched"
    assert (await stored(api, delivery)).payer_id == view["payer"]["id"]


async def test_an_unknown_trace_is_404_and_shows_on_the_worklist_as_unmatched(api: Api) -> None:
    payer_id = new_id("payer")
    body, content_type = decision_body(new_id("SD"), "A1", **approval())
    delivery = new_id("dlv")

    response = await api.webhook(payer_id, body, content_type, delivery=delivery)
    again = await api.webhook(payer_id, body, content_type, delivery=delivery)

    assert response.status_code == 404 and again.status_code == 404
    assert again.json() == response.json()
    assert (await stored(api, delivery)).status == "unmatched"
    worklist = await api.call("GET", f"/worklist?payer_id={payer_id}&kind=webhook_unmatched", "ops")
    [item] = worklist.json()
    assert item["kind"] == "webhook_unmatched" and delivery in item["detail"]


async def test_a_decision_for_another_payers_episode_is_unmatched(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())

    response = await api.webhook(new_id("payer"), body, content_type)

    assert response.status_code == 404
    assert await version(api, view) == view["version"]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"trace_number": "SD-1", "action": "ZZ"}', 422),
        ("application/json", b"[1, 2", 422),
        ("text/plain", b"approved, trust me", 415),
    ],
)
async def test_an_unreadable_body_is_refused_and_kept_as_rejected(
    api: Api, content_type: str, body: bytes, status: int
) -> None:
    delivery = new_id("dlv")

    response = await api.webhook("acme-medicaid", body, content_type, delivery=delivery)

    assert response.status_code == status
    entry = await stored(api, delivery)
    assert entry.status == "rejected" and entry.last_error
    assert entry.last_error in response.json()["detail"]


async def test_a_very_long_content_type_is_kept_and_still_understood(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, _ = decision_body(view["trace_number"], "A3", reason="no")
    content_type = "application/json; " + "; ".join(f"p{n}=v" for n in range(100))

    response = await api.webhook("acme-medicaid", body, content_type)

    assert response.status_code == 202, response.text


async def test_a_decision_the_episode_refuses_is_409_and_kept_as_rejected(api: Api) -> None:
    view = await api.open()
    await approve(api, view)
    applied = await version(api, view)
    delivery = new_id("dlv")
    # A second decision, not the same signed message again (that would be a replay).
    body, content_type = decision_body(view["trace_number"], "A1", **approval(number="AUTH-2"))

    late = await api.webhook(view["payer"]["id"], body, content_type, delivery=delivery)

    assert late.status_code == 409
    assert "no request is waiting" in late.json()["detail"]
    assert late.json()["episode_id"] == view["episode_id"]
    assert (await stored(api, delivery)).status == "rejected"
    assert await version(api, view) == applied


async def test_an_approval_missing_its_number_is_422(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A2", end=approval()["end"])

    response = await api.webhook("acme-medicaid", body, content_type)

    assert response.status_code == 422
    assert "authorization_number" in response.json()["detail"]
    assert await version(api, view) == view["version"]


async def test_a_delivery_id_is_required_once_the_signature_verifies(api: Api) -> None:
    body = b'{"trace_number": "SD-1", "action": "A1"}'
    headers = {"Content-Type": "application/json", "Stepdown-Signature": signature(body)}

    response = await api.http.post("/webhooks/payers/acme-medicaid", content=body, headers=headers)
    unsigned = await api.http.post("/webhooks/payers/acme-medicaid", content=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "Stepdown-Delivery"
    assert unsigned.status_code == 401


async def test_an_unreachable_database_is_503_so_the_payer_retries(api: Api) -> None:
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", connect_args={"connect_timeout": 1}
    )
    deps = dataclasses.replace(api.deps, inbox=SqlWebhookInbox(engine))
    app = create_app(api.stack.settings, deps=deps)
    body = b'{"trace_number": "SD-1", "action": "A1"}'
    headers = {
        "Content-Type": "application/json",
        "Stepdown-Signature": signature(body),
        "Stepdown-Delivery": new_id("dlv"),
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        response = await http.post("/webhooks/payers/acme-medicaid", content=body, headers=headers)

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "database" in response.json()["detail"]
    engine.dispose()


async def test_webhook_outcomes_are_counted(api: Api) -> None:
    before = api.deps.metrics.value("stepdown_webhook_deliveries_total", status="unmatched")
    body, content_type = decision_body(new_id("SD"), "A3")

    await api.webhook(new_id("payer"), body, content_type)

    metrics = await eventually(lambda: _text(api))
    after = api.deps.metrics.value("stepdown_webhook_deliveries_total", status="unmatched")
    assert after == before + 1
    assert f'stepdown_webhook_deliveries_total{{status="unmatched"}} {after}' in metrics


async def _text(api: Api) -> str:
    return (await api.http.get("/metrics")).text

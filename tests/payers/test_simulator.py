"""The payer simulator answers through the real signed webhook, with a seeded mix of actions."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from activities.ports import PayerRequest
from payers.formats import parse_decision
from payers.signature import verify
from payers.simulator import PayerSimulator, create_app, plan
from tests.support.simulator_config import SECRET, config


def payer_request(purpose: str = "initial", payer_id: str = "sim-acme") -> PayerRequest:
    episode = f"ep-{uuid.uuid4().hex[:8]}"
    trace = f"SD-{episode}-1"
    return PayerRequest(
        episode_id=episode,
        trace_number=trace,
        purpose=purpose,  # type: ignore[arg-type]
        payer_id=payer_id,
        idempotency_key=f"{episode}:{trace}:{purpose}",
        payload={
            "purpose": purpose,
            "units": 20,
            "requested": {
                "start": "2026-11-23",
                "units": 20,
                "unit_type": "days",
                "service_codes": ["S9480", "0905"],
            },
            "authorizations": [],
        },
    )


class Receiver:
    """The API's side of the webhook: checks signatures and parses bodies like the real one."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.deliveries: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/webhooks/payers/{payer_id}")(self.webhook)
        self.app.post("/episodes/{episode_id}/p2p")(self.p2p)

    async def webhook(self, payer_id: str, request: Request) -> Response:
        if self.failures:
            self.failures -= 1
            return Response(status_code=503)
        body = await request.body()
        verify(request.headers.get("Stepdown-Signature"), body, [SECRET], int(time.time()))
        decision = parse_decision(request.headers["Content-Type"], body)
        self.deliveries.append(
            {
                "payer_id": payer_id,
                "delivery_id": request.headers["Stepdown-Delivery"],
                "content_type": request.headers["Content-Type"],
                "decision": decision,
            }
        )
        return Response(status_code=202)

    async def p2p(self, episode_id: str, request: Request) -> dict[str, str]:
        self.calls.append(
            {"auth": request.headers.get("Authorization"), "body": await request.json()}
        )
        return {"episode_id": episode_id}


async def post(app: FastAPI, request: PayerRequest) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        return await client.post("/requests", json=request.model_dump(mode="json"))


def simulator(app: FastAPI) -> PayerSimulator:
    sim: PayerSimulator = app.state.simulator
    return sim


async def test_an_approval_arrives_as_a_signed_webhook_for_the_request_trace():
    receiver = Receiver()
    app = create_app(config=config(), transport=httpx.ASGITransport(app=receiver.app))
    request = payer_request()
    response = await post(app, request)
    await simulator(app).idle()

    assert response.status_code == 202
    assert response.json() == {"accepted": True, "duplicate": False}
    [delivery] = receiver.deliveries
    assert delivery["payer_id"] == "sim-acme"
    assert delivery["decision"].trace_number == request.trace_number
    assert delivery["decision"].action == "A1"
    assert delivery["decision"].units == 20
    assert delivery["delivery_id"].startswith("sim-")


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("fhir", "application/fhir+json"), ("x12", "application/edi-x12")],
)
async def test_answers_in_the_format_the_settings_weigh(fmt: str, content_type: str):
    receiver = Receiver()
    cfg = config(formats={fmt: 1.0}, mix={"A3": 1.0})
    app = create_app(config=cfg, transport=httpx.ASGITransport(app=receiver.app))
    await post(app, payer_request())
    await simulator(app).idle()

    [delivery] = receiver.deliveries
    assert delivery["content_type"] == content_type
    assert delivery["decision"].action == "A3"


async def test_a_repeated_idempotency_key_is_a_duplicate_and_answered_once():
    receiver = Receiver()
    app = create_app(config=config(), transport=httpx.ASGITransport(app=receiver.app))
    request = payer_request()
    first, second = await post(app, request), await post(app, request)
    await simulator(app).idle()

    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert len(receiver.deliveries) == 1


async def test_webhook_is_retried_on_5xx_until_accepted():
    receiver = Receiver(failures=2)
    app = create_app(config=config(), transport=httpx.ASGITransport(app=receiver.app))
    request = payer_request()
    await post(app, request)
    await simulator(app).idle()

    answer = simulator(app).answers[request.idempotency_key]
    assert (answer.attempts, answer.status_code) == (3, 202)
    assert len(receiver.deliveries) == 1


async def test_retries_are_bounded_when_the_api_stays_down():
    receiver = Receiver(failures=100)
    cfg = config(attempts=4)
    app = create_app(config=cfg, transport=httpx.ASGITransport(app=receiver.app))
    request = payer_request()
    await post(app, request)
    await simulator(app).idle()

    answer = simulator(app).answers[request.idempotency_key]
    assert (answer.attempts, answer.status_code, answer.done) == (4, 503, True)
    assert receiver.deliveries == []


async def test_silence_sends_nothing():
    receiver = Receiver()
    app = create_app(config=config(mix={"none": 1.0}), transport=httpx.ASGITransport(receiver.app))
    await post(app, payer_request())
    await simulator(app).idle()

    assert receiver.deliveries == []


async def test_a_non_sim_payer_is_refused():
    app = create_app(config=config())
    response = await post(app, payer_request(payer_id="acme-medicaid"))

    assert response.status_code == 400
    assert simulator(app).requests == {}


async def test_an_overturned_p2p_is_booked_decided_and_then_authorized_by_webhook():
    receiver = Receiver()
    cfg = config(p2p_overturn_rate=1.0)
    app = create_app(config=cfg, transport=httpx.ASGITransport(app=receiver.app))
    request = payer_request(purpose="p2p")
    await post(app, request)
    await simulator(app).idle()

    schedule, outcome = receiver.calls
    assert schedule["auth"] == outcome["auth"] == "Bearer ops-token"
    assert schedule["body"]["action"] == "schedule"
    assert outcome["body"] == {"action": "outcome", "outcome": "overturned", "reviewer": ANY}
    [delivery] = receiver.deliveries
    assert (delivery["decision"].trace_number, delivery["decision"].action) == (
        request.trace_number,
        "A1",
    )


async def test_an_upheld_p2p_sends_no_authorization():
    receiver = Receiver()
    cfg = config(p2p_overturn_rate=0.0)
    app = create_app(config=cfg, transport=httpx.ASGITransport(app=receiver.app))
    await post(app, payer_request(purpose="p2p"))
    await simulator(app).idle()

    assert [call["body"].get("outcome") for call in receiver.calls] == [None, "upheld"]
    assert receiver.deliveries == []


def test_the_mix_of_actions_follows_the_weights():
    cfg = config(mix={"A1": 0.6, "A3": 0.3, "none": 0.1})
    # Fixed keys: the answer is a function of (seed, key), so the counts are reproducible.
    base = payer_request()
    keys = (base.model_copy(update={"idempotency_key": f"key-{i}"}) for i in range(4000))
    counts = Counter(plan(request, cfg).action for request in keys)

    assert set(counts) == {"A1", "A3", "none"}
    assert counts["A1"] / 4000 == pytest.approx(0.6, abs=0.03)
    assert counts["A3"] / 4000 == pytest.approx(0.3, abs=0.03)
    assert counts["none"] / 4000 == pytest.approx(0.1, abs=0.02)


def test_the_same_seed_gives_every_request_the_same_answer():
    mix = {"A1": 0.5, "A2": 0.1, "A3": 0.2, "A4": 0.1, "A6": 0.1}
    formats = {"json": 1.0, "fhir": 1.0, "x12": 1.0}
    requests = [payer_request() for _ in range(50)]

    def plans(seed: int) -> list[tuple[str, str]]:
        cfg = config(mix=mix, formats=formats, seed=seed)
        return [(p.action, p.format) for p in (plan(r, cfg) for r in requests)]

    assert plans(7) == plans(7)
    assert plans(7) != plans(8)


def test_a_reversal_is_always_an_approval():
    cfg = config(mix={"A3": 1.0})

    assert plan(payer_request(purpose="reversal"), cfg).action == "A1"

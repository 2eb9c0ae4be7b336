"""The simulator notice: sim- payers go to the simulator, others to `others`; both idempotent."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Response

from activities.ports import InvalidRequest
from payers.gateways import HttpSimulatorGateway
from payers.simulator import create_app
from tests.payers.test_simulator import payer_request
from tests.support.payer_fakes import RecordingOutboundGateway
from tests.support.simulator_config import config


def gateway_to(app: FastAPI, others: RecordingOutboundGateway | None = None):
    transport = httpx.ASGITransport(app=app)
    return HttpSimulatorGateway("http://sim", others=others, transport=transport)


async def test_a_sim_payer_request_reaches_the_simulator_once():
    app = create_app(config=config(mix={"none": 1.0}))
    gateway = gateway_to(app)
    request = payer_request()

    first, again = await gateway.submit(request), await gateway.submit(request)

    assert (first.accepted, first.duplicate) == (True, False)
    assert (again.accepted, again.duplicate) == (True, True)
    assert list(app.state.simulator.requests) == [request.idempotency_key]


async def test_other_payers_are_recorded_for_a_webhook_answer():
    recorder = RecordingOutboundGateway()
    gateway = gateway_to(create_app(config=config()), others=recorder)
    request = payer_request(payer_id="acme-medicaid")

    first, again = await gateway.submit(request), await gateway.submit(request)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert recorder.submitted == [request]


async def test_a_simulator_error_is_raised_so_the_activity_retries():
    failing = FastAPI()
    failing.post("/requests")(lambda: Response(status_code=503))

    with pytest.raises(httpx.HTTPStatusError):
        await gateway_to(failing).submit(payer_request())


async def test_a_refused_request_is_invalid_and_not_retried():
    refusing = FastAPI()
    refusing.post("/requests")(lambda: Response(status_code=422, content=b"bad payload"))

    with pytest.raises(InvalidRequest, match="bad payload"):
        await gateway_to(refusing).submit(payer_request())


async def test_without_others_a_payer_outside_the_simulator_is_sent_nothing():
    app = create_app(config=config())
    request = payer_request(payer_id="acme-medicaid")

    receipt = await gateway_to(app).submit(request)

    assert (receipt.accepted, receipt.duplicate) == (True, False)
    assert app.state.simulator.requests == {}

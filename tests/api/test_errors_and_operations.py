"""Errors as problem+json (404, 405, 413, 500), request ids, /metrics, /healthz and the codec."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from api.app import create_app
from api.deps import ApiDeps, database_health
from store.db import make_engine
from tests.support.api_client import Api
from tests.support.intake import new_id, service_line, today
from tests.support.webhooks import signature

PROBLEM_JSON = "application/problem+json"
MIB = 1024 * 1024
# What an exception message may quote; the traceback shows this name, not the value.
PHI = "Jane Roe 1990-04-01"


def client_of(api: Api, deps: ApiDeps, *, raise_errors: bool = True) -> httpx.AsyncClient:
    app = create_app(api.stack.settings, deps=deps)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_errors)
    return httpx.AsyncClient(transport=transport, base_url="http://stepdown.test")


async def test_an_unknown_route_is_a_404_problem(api: Api) -> None:
    for role in (None, "ops"):
        response = await api.call("GET", "/episodes-please", role)

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        assert "/openapi.json" in response.json()["detail"]


async def test_a_wrong_method_is_a_405_naming_every_allowed_method(api: Api) -> None:
    response = await api.call("DELETE", "/episodes", "admin")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["detail"] == "DELETE is not allowed on /episodes; use GET, POST"


async def test_a_declared_body_over_one_mib_is_413_before_it_is_read(api: Api) -> None:
    episode = await api.open()
    body = b"{" + b" " * MIB + b"}"

    response = await api.call(
        "POST",
        f"/episodes/{episode['episode_id']}/cancel",
        "ops",
        content=body,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "larger than" in response.json()["detail"]
    assert (await api.view(episode["episode_id"]))["version"] == episode["version"]


async def test_a_streamed_body_over_one_mib_is_413_and_a_webhook_is_not_kept(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * (MIB // 4)

    delivery = new_id("dlv")
    headers = {
        "Content-Type": "application/json",
        "Stepdown-Signature": signature(b""),
        "Stepdown-Delivery": delivery,
    }

    streamed = await api.http.post(
        "/webhooks/payers/acme-medicaid", content=chunks(), headers=headers
    )
    episodes = await api.call("POST", "/episodes", "intake", content=chunks(), headers=headers)

    assert streamed.status_code == 413 and episodes.status_code == 413
    assert streamed.headers["content-type"] == PROBLEM_JSON
    assert api.deps.inbox.get(delivery) is None


async def test_every_answer_carries_a_request_id_and_a_valid_one_is_kept(api: Api) -> None:
    given = await api.call("GET", "/worklist", "ops", headers={"X-Request-ID": "trace-42"})
    invalid = await api.call("GET", "/worklist", "ops", headers={"X-Request-ID": "bad id!"})
    refused = await api.call("GET", "/worklist")

    assert given.headers["x-request-id"] == "trace-42"
    assert (
        invalid.headers["x-request-id"] != "bad id!" and len(invalid.headers["x-request-id"]) == 32
    )
    assert refused.headers["x-request-id"]


async def test_an_unexpected_failure_is_a_500_problem_revealing_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def worklist(self, *args: Any) -> Any:
            raise RuntimeError(PHI)

    deps = dataclasses.replace(api.deps, read_model=Broken())  # type: ignore[arg-type]
    async with client_of(api, deps, raise_errors=False) as http:
        response = await http.get("/worklist", headers=api.auth("ops"))

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Jane" not in response.text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "stepdown.api")
    assert "RuntimeError" in logged and "worklist" in logged
    assert "Jane" not in logged


async def test_health_names_the_database_when_it_does_not_answer(api: Api) -> None:
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", connect_args={"connect_timeout": 1}
    )
    deps = dataclasses.replace(api.deps, database_health=database_health(engine))
    async with client_of(api, deps) as http:
        response = await http.get("/healthz")
    engine.dispose()

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["checks"]["database"].startswith("unavailable")
    assert response.json()["checks"]["temporal"] == "ok"


async def test_metrics_count_requests_by_route_template_and_claims_by_outcome(api: Api) -> None:
    view = await api.open()
    await api.call("GET", f"/episodes/{view['episode_id']}", "ops")
    await api.call(
        "POST",
        f"/episodes/{view['episode_id']}/services",
        "billing",
        json={"services": [service_line(code="90853")]},
    )
    held = api.deps.metrics.value("stepdown_claims_total", status="held")
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    await api.call("POST", f"/episodes/{view['episode_id']}/claims", "billing", json=claim)

    response = await api.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE stepdown_http_requests_total counter" in text
    assert 'route="/episodes/{episode_id}",status="200"' in text
    assert f'stepdown_claims_total{{status="held"}} {held + 1}' in text
    assert view["episode_id"] not in text


async def test_metrics_time_requests_per_route_and_updates_per_name(api: Api) -> None:
    def count(name: str, **labels: str) -> float:
        return api.deps.metrics.registry.get_sample_value(name, labels) or 0

    released = {"update": "release_claim", "outcome": "ok"}
    # The session's app is shared: count this test's calls as differences.
    before = count("stepdown_workflow_update_duration_seconds_count", **released)
    view = await api.open()
    await api.call("GET", f"/episodes/{view['episode_id']}", "ops")
    services = {"services": [service_line(code="90853")]}
    await api.call("POST", f"/episodes/{view['episode_id']}/services", "billing", json=services)
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    answer = await api.call("POST", f"/episodes/{view['episode_id']}/claims", "billing", json=claim)
    assert answer.status_code in (201, 202), answer.text  # released or held: the update ran
    route = {"method": "GET", "route": "/episodes/{episode_id}"}

    text = (await api.http.get("/metrics")).text

    assert "# TYPE stepdown_http_request_duration_seconds histogram" in text
    assert count("stepdown_http_request_duration_seconds_count", **route) >= 1
    assert count("stepdown_http_request_duration_seconds_sum", **route) > 0
    # Every observation lands in the +Inf bucket: the count and that bucket agree.
    inf = count("stepdown_http_request_duration_seconds_bucket", le="+Inf", **route)
    assert inf == count("stepdown_http_request_duration_seconds_count", **route)
    assert count("stepdown_workflow_update_duration_seconds_count", **released) == before + 1
    assert "stepdown_workflow_update_duration_seconds_bucket" in text


async def test_ops_decode_history_payloads_through_the_codec_endpoint(api: Api) -> None:
    converter = api.deps.episodes.client.data_converter
    [sealed] = await converter.encode(["Jane Roe"])
    body = {"payloads": [json_format.MessageToDict(sealed)]}

    opened = await api.call("POST", "/codec/decode", "ops", json=body)
    refused = await api.call("POST", "/codec/decode", "billing", json=body)

    assert opened.status_code == 200
    [plain] = opened.json()["payloads"]
    assert converter.payload_converter.from_payloads([json_format.ParseDict(plain, Payload())]) == [
        "Jane Roe"
    ]
    assert refused.status_code == 403

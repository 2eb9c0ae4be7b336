"""The edges of input and configuration (issue 14): the calendar's ends, crafted cursors,
typed problem codes only, 401 before any parsing, no-store on PHI, the codec and the
simulator's listing behind a token, and a bounded signature tolerance."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.app import codec_access, create_app
from api.problems import PROBLEM_CODES, rejected_problem
from domain.errors import Rejected
from payers.simulator import create_app as simulator_app
from settings import DEV_PAYLOAD_KEY, Settings
from tests.support.api_client import Api
from tests.support.api_stack import api_settings
from tests.support.intake import intake_body, service_line
from tests.support.simulator_config import config as simulator_config

LATEST = "9999-12-31T23:59:59-14:00"
EARLIEST = "0001-01-01T00:00:00+14:00"


def typed(response: httpx.Response) -> dict[str, Any]:
    """A refusal as every refusal must be: problem+json, a code of our own list, no 500."""
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["code"] in PROBLEM_CODES, problem
    assert "Error" not in problem["code"] and "out of range" not in problem["detail"]
    return problem


def crafted_cursor(opened_at: str) -> str:
    raw = json.dumps([opened_at, "ep-x"]).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("instant", [LATEST, EARLIEST, "1850-01-01T00:00:00Z"])
async def test_a_due_before_off_the_calendar_is_422_naming_the_parameter(
    api: Api, instant: str
) -> None:
    response = await api.call("GET", "/episodes", "ops", params={"due_before": instant})

    problem = typed(response)
    assert response.status_code == 422
    assert problem["errors"][0]["parameter"] == "due_before"


@pytest.mark.parametrize(
    "cursor", [crafted_cursor(LATEST), crafted_cursor(EARLIEST), "bm90IGpzb24", "////"]
)
async def test_a_crafted_cursor_is_422_naming_the_parameter(api: Api, cursor: str) -> None:
    response = await api.call("GET", "/episodes", "ops", params={"cursor": cursor})

    problem = typed(response)
    assert response.status_code == 422
    assert problem["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("path", "value", "pointer"),
    [
        (("patient", "birth_date"), "0001-01-01", "#/patient/birth_date"),
        (("requested", "start"), "9999-12-31", "#/requested/start"),
        (("prior_authorization", "end"), "9999-12-31", "#/prior_authorization/end"),
        (("php_last_claim_through",), "1899-12-31", "#/php_last_claim_through"),
    ],
)
async def test_an_intake_date_off_the_calendar_is_422_naming_the_field(
    api: Api, path: tuple[str, ...], value: str, pointer: str
) -> None:
    body = intake_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    response = await api.call("POST", "/episodes", "intake", json=body)

    problem = typed(response)
    assert response.status_code == 422
    assert pointer in [item.get("pointer") for item in problem["errors"]]
    assert (await api.call("GET", f"/episodes/{body['episode_id']}", "ops")).status_code == 404


async def test_action_dates_off_the_calendar_are_422_and_change_nothing(api: Api) -> None:
    view = await api.open()
    episode = f"/episodes/{view['episode_id']}"
    far = "9999-12-31"
    sent = [
        await api.call(
            "POST", f"{episode}/services", "billing", json={"services": [service_line(date=far)]}
        ),
        await api.call(
            "POST", f"{episode}/claims", "billing", json={"claim_id": "C-1", "through": far}
        ),
        await api.call(
            "POST",
            f"{episode}/discharge",
            "ops",
            json={"date": "0001-01-01", "patient_status": "01", "disposition": "completed"},
        ),
        await api.call("POST", f"{episode}/p2p", "ops", json={"action": "schedule", "at": LATEST}),
    ]

    for response in sent:
        assert response.status_code == 422, response.text
        assert "within the years 1900–2100" in typed(response)["detail"]
    assert (await api.view(view["episode_id"]))["version"] == view["version"]


@pytest.mark.parametrize(
    ("code", "message"),
    [("OverflowError", "date value out of range"), ("ValueError", "year 10000 is out of range")],
)
def test_a_refusal_the_domain_did_not_name_gets_a_typed_code_without_its_message(
    code: str, message: str
) -> None:
    problem = rejected_problem(Rejected(code, message))

    assert (problem.status, problem.code) == (422, "unprocessable")
    assert code not in problem.detail and "out of range" not in problem.detail


async def test_no_route_and_wrong_method_have_typed_codes(api: Api) -> None:
    missing = await api.call("GET", "/nowhere", "ops")
    wrong = await api.call("DELETE", "/worklist", "ops")

    assert typed(missing)["code"] == "no_route"
    assert typed(wrong)["code"] == "method_not_allowed"


def changing_routes(api: Api) -> list[str]:
    paths: dict[str, dict[str, Any]] = api.stack.app.openapi()["paths"]
    return [
        path.replace("{episode_id}", "ep-x")
        .replace("{payer_id}", "acme-medicaid")
        .replace("{delivery_id}", "dlv-x")
        for path, operations in paths.items()
        if "post" in operations and not path.startswith(("/webhooks/payers", "/codec"))
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b'{"x": 1}', "application/json"), (b"a=1", "text/plain")],
)
async def test_a_stranger_hears_401_before_anything_about_the_body(
    api: Api, content: bytes, content_type: str
) -> None:
    routes = changing_routes(api)
    for path in routes:
        response = await api.http.post(
            path, content=content, headers={"Content-Type": content_type}
        )
        assert response.status_code == 401, (path, response.text)
        assert typed(response)["code"] == "unauthenticated"
    bad_query = await api.http.get("/episodes", params={"limit": "0", "due_before": LATEST})
    assert bad_query.status_code == 401
    assert len(routes) >= 8


async def test_phi_answers_are_never_stored_by_caches(api: Api) -> None:
    view = await api.open()
    episode = f"/episodes/{view['episode_id']}"
    await api.projected(view["episode_id"], view["version"])

    answers = [
        await api.call("GET", episode, "ops"),
        await api.call("GET", f"{episode}/events", "ops"),
        await api.call("GET", f"{episode}/history", "ops"),
        await api.call("GET", f"/audit?episode_id={view['episode_id']}", "ops"),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await api.http.get("/healthz")).headers


REAL_KEY = base64.b64encode(bytes(range(32))).decode()


async def test_in_dev_mode_a_real_payload_key_puts_the_codec_behind_a_token() -> None:
    real = Settings.model_validate(
        {"STEPDOWN_DEV": True, "STEPDOWN_PAYLOAD_KEYS": {"k1": REAL_KEY}}
    )
    public = Settings.model_validate(
        {"STEPDOWN_DEV": True, "STEPDOWN_PAYLOAD_KEYS": {"dev-1": DEV_PAYLOAD_KEY}}
    )
    app = create_app(real, deps=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        stranger = await http.post("/codec/decode", content=b"garbage")

    assert stranger.status_code == 401
    assert typed(stranger)["code"] == "unauthenticated"
    assert codec_access(public)("ops")() is None


@pytest.mark.parametrize("seconds", [-5, 0, 29, 901, 10**9])
def test_a_webhook_tolerance_outside_30_to_900_seconds_is_refused(seconds: int) -> None:
    with pytest.raises(ValidationError, match="STEPDOWN_WEBHOOK_TOLERANCE"):
        api_settings(STEPDOWN_WEBHOOK_TOLERANCE=seconds)


@pytest.mark.parametrize("seconds", [30, 300, 900])
def test_a_webhook_tolerance_within_30_to_900_seconds_is_kept(seconds: int) -> None:
    assert api_settings(STEPDOWN_WEBHOOK_TOLERANCE=seconds).webhook_tolerance_seconds == seconds


async def test_the_simulators_request_listing_needs_the_admin_token() -> None:
    tokens = {"sim-admin": "admin", "sim-ops": "ops"}
    app = simulator_app(config=simulator_config(tokens=tokens))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        anonymous = await http.get("/requests")
        ops = await http.get("/requests", headers={"Authorization": "Bearer sim-ops"})
        admin = await http.get("/requests", headers={"Authorization": "Bearer sim-admin"})

    assert (anonymous.status_code, ops.status_code, admin.status_code) == (401, 401, 200)
    assert admin.json() == []

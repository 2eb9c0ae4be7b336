"""Hypothesis against every operation of /openapi.json: no input makes the API fail (5xx)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from tests.support.api_client import Api
from tests.support.api_stack import api_settings
from tests.support.intake import intake_body, new_id
from tests.support.webhooks import signature

# The schema needs no running parts: an app without dependencies renders it.
SPEC: dict[str, Any] = create_app(api_settings()).openapi()

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/fhir+json", "application/edi-x12", "text/plain", ""]
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def as_json(value: Any) -> dict[str, Any]:
    # json.dumps writes NaN and Infinity, which are not JSON: the API must refuse them too.
    return {"content": json.dumps(value), "headers": {"Content-Type": "application/json"}}


@st.composite
def intake_bodies(draw: st.DrawFn) -> Any:
    """A valid intake body with some fields (top level or one level down) replaced."""
    body: dict[str, Any] = intake_body(episode_id=new_id())
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=3, unique=True)):
        value = body[key]
        if isinstance(value, dict) and value and draw(st.booleans()):
            inner = draw(st.sampled_from(sorted(value)))
            value[inner] = draw(JSON)
        elif draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(JSON)
    return body


@st.composite
def requests(
    draw: st.DrawFn, spec: dict[str, Any], episode_id: str
) -> tuple[str, str, dict[str, Any]]:
    operations = [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    method, template, operation = draw(st.sampled_from(operations))
    path = template
    for name in ("episode_id", "payer_id"):
        value = draw(
            st.sampled_from([episode_id, "acme-medicaid", new_id()])
            | st.text(min_size=1, max_size=12)
        )
        path = path.replace("{" + name + "}", quote(value, safe=""))
    params = {
        p["name"]: draw(st.text(max_size=12))
        for p in operation.get("parameters", [])
        if p["in"] == "query" and draw(st.booleans())
    }
    kwargs: dict[str, Any] = {"params": params}
    if method == "post":
        kwargs |= draw(bodies(template))
    return method.upper(), path, kwargs


@st.composite
def bodies(draw: st.DrawFn, template: str) -> dict[str, Any]:
    if template == "/episodes" and draw(st.booleans()):
        return as_json(draw(intake_bodies()))
    raw = json.dumps(draw(JSON)).encode() if draw(st.booleans()) else draw(st.binary(max_size=64))
    headers = {"Content-Type": draw(CONTENT_TYPES) or "application/json"}
    if template.startswith("/webhooks/"):
        headers |= {"Stepdown-Signature": signature(raw), "Stepdown-Delivery": new_id("fuzz")}
    return {"content": raw, "headers": headers}


@pytest_asyncio.fixture(loop_scope="session")
async def episode_id(api: Api) -> str:
    opened: str = (await api.open())["episode_id"]
    return opened


@FUZZ
@given(data=st.data(), role=st.sampled_from(["admin", "ops", None]))
async def test_no_generated_request_makes_the_api_fail(
    api: Api, episode_id: str, data: st.DataObject, role: str | None
) -> None:
    method, path, kwargs = data.draw(requests(SPEC, episode_id))

    response = await api.call(method, path, role, **kwargs)

    assert response.status_code < 500, (method, path, response.status_code, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", path
        assert response.json()["detail"]


@FUZZ
@given(body=intake_bodies())
async def test_generated_intake_bodies_are_opened_or_refused_clearly(api: Api, body: Any) -> None:
    response = await api.call("POST", "/episodes", "intake", **as_json(body))

    assert response.status_code in (200, 201, 409, 422), response.text
    if response.status_code == 422:
        assert response.json()["errors"]

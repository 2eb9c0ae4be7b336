"""The webhook's own rules, each at its boundary: STEPDOWN_WEBHOOK_TOLERANCE is the window a
signature's timestamp must fall in (not a fixed 300 s), and payer ids in the path are 1–64
letters, digits, '.', '_' or '-' (api/signed.py). A delivery that passes both, for a trace
number no episode sent, is kept as unmatched (404); one that fails is refused and not kept."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from payers.signature import sign
from tests.support.api_client import Api
from tests.support.intake import new_id
from tests.support.webhooks import DEFAULT_SECRET, decision_body

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def post(
    api: Api, payer_id: str, age: int, *, tolerance: int | None = None
) -> tuple[httpx.Response, str]:
    """Posts a decision for an unknown trace, signed `age` seconds before NOW, to an app
    whose clock reads NOW (and whose tolerance is `tolerance` when given)."""
    settings = api.stack.settings
    if tolerance is not None:
        settings = settings.model_copy(update={"webhook_tolerance_seconds": tolerance})
    app = create_app(settings, deps=dataclasses.replace(api.deps, clock=lambda: NOW))
    body, content_type = decision_body(f"T-{new_id()}", "A1")
    delivery = new_id("dlv")
    headers = {
        "Content-Type": content_type,
        "Stepdown-Signature": sign(DEFAULT_SECRET, body, int(NOW.timestamp()) - age),
        "Stepdown-Delivery": delivery,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        response = await http.post(f"/webhooks/payers/{payer_id}", content=body, headers=headers)
    return response, delivery


async def kept(api: Api, delivery: str, payer_id: str) -> Any:
    return api.deps.inbox.get(delivery, payer_id)


async def test_the_configured_tolerance_is_the_signature_window(api: Api) -> None:
    at_edge, _ = await post(api, "acme-medicaid", 60, tolerance=60)
    past_edge, refused = await post(api, "acme-medicaid", 61, tolerance=60)
    # The same age under the default 300 s passes: the window is the setting's.
    default, _ = await post(api, "acme-medicaid", 61)

    assert at_edge.status_code == 404, at_edge.text
    assert past_edge.status_code == 401
    assert "within 60 s" in past_edge.json()["detail"]
    assert await kept(api, refused, "acme-medicaid") is None
    assert default.status_code == 404, default.text


async def test_a_wider_tolerance_accepts_what_the_default_refuses(api: Api) -> None:
    wide, _ = await post(api, "acme-medicaid", 600, tolerance=900)
    default, _ = await post(api, "acme-medicaid", 600)
    assert (wide.status_code, default.status_code) == (404, 401)


@pytest.mark.parametrize(
    "payer_id", ["a", "Acme.Medicaid_2-x", "p" * 64], ids=["one", "every-kind", "64"]
)
async def test_a_payer_id_of_the_pattern_is_taken(api: Api, payer_id: str) -> None:
    response, delivery = await post(api, payer_id, 0)

    assert response.status_code == 404, response.text
    assert (await kept(api, delivery, payer_id)).status == "unmatched"


@pytest.mark.parametrize(
    "payer_id", ["p" * 65, "acme%20medicaid", "acme%2Bplus", "acm%C3%A9"],
    ids=["65", "space", "plus", "accent"],
)  # fmt: skip
async def test_a_payer_id_outside_the_pattern_is_422_naming_it_and_not_kept(
    api: Api, payer_id: str
) -> None:
    response, delivery = await post(api, payer_id, 0)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("invalid_input")
    assert [e["parameter"] for e in problem["errors"]] == ["payer_id"]
    assert api.deps.inbox.get(delivery) is None

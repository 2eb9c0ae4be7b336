"""Each payer format over HTTP (canonical JSON, Da Vinci PAS, X12 278): every kind of answer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from domain.model import PayerDecision
from payers.formats.examples import pas_body
from tests.support.api_client import Api
from tests.support.intake import approval, new_id, today
from tests.support.webhooks import RENDER, decision_body

FORMATS = list(RENDER)
MALFORMED = {
    "json": b'{"trace_number": "SD-X-1"}',
    "fhir": b'{"resourceType": "Patient", "id": "not-a-claim-response"}',
    "x12": b"ISA*00*this is not an interchange~",
}


def decisions() -> dict[str, tuple[str, dict[str, Any]]]:
    end = today() + timedelta(days=20)
    return {
        "approve": ("A1", approval()),
        "partial": ("A2", approval() | {"end": end, "units": 12}),
        "modified": (
            "A6",
            approval()
            | {"units": 12, "unit_type": "sessions", "service_codes": ("H0015", "0906")}
            | {"reason": "certified as substance use IOP"},
        ),
        "deny": ("A3", {"reason_code": "0F", "reason": "documentation does not support IOP"}),
        "pend": ("A4", {"reference": "PEND-1", "reason": "send the PHP discharge summary"}),
    }


EXPECTED = {
    "approve": ("authorized", 20, "days"),
    "partial": ("authorized", 12, "days"),
    "modified": ("authorized", 12, "sessions"),
    "deny": ("denied", None, None),
    "pend": ("info_requested", None, None),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(EXPECTED))
async def test_each_format_carries_each_kind_of_decision(api: Api, fmt: str, case: str) -> None:
    view = await api.open()
    action, fields = decisions()[case]

    response = await api.decide(view, action, fmt, **fields)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "applied"
    after = await api.view(view["episode_id"])
    state, units, unit_type = EXPECTED[case]
    assert after["state"] == state
    if units is None:
        assert after["authorization"] is None
    else:
        assert (after["authorization"]["units"], after["authorization"]["unit_type"]) == (
            units,
            unit_type,
        )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_malformed_body_in_each_format_is_422_and_kept_rejected(api: Api, fmt: str) -> None:
    content_type, _ = RENDER[fmt]
    delivery = new_id("dlv")

    response = await api.webhook("acme-medicaid", MALFORMED[fmt], content_type, delivery=delivery)

    assert response.status_code == 422
    assert response.json()["detail"].startswith("the body is not a usable payer decision")
    entry = api.deps.inbox.get(delivery)
    assert entry is not None and entry.status == "rejected"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_charset_parameter_on_the_content_type_is_understood(api: Api, fmt: str) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    body, content_type = decision_body(view["trace_number"], "A3", fmt, reason="no")

    response = await api.webhook("acme-medicaid", body, f"{content_type}; charset=utf-8")

    assert response.status_code == 202, response.text
    assert (await api.view(view["episode_id"]))["state"] == "denied"


async def test_a_pas_response_bundle_is_applied(api: Api) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    decision = PayerDecision.model_validate(
        {"trace_number": view["trace_number"], "action": "A1", **approval()}
    )

    response = await api.webhook(
        "acme-medicaid", pas_body(decision, bundle=True), "application/fhir+json"
    )

    assert response.status_code == 202, response.text
    assert (await api.view(view["episode_id"]))["state"] == "authorized"


def _bundle_breaking(trace: str, change: str) -> bytes:
    """A Da Vinci PAS response Bundle answering `trace`, broken in one way."""
    body = pas_body(
        PayerDecision(trace_number=trace, action="A3", reason="not medically necessary"),
        bundle=True,
    )
    document = json.loads(body)
    resource = document["entry"][0]["resource"]
    if change == "item_not_a_list":
        resource["item"] = {"itemSequence": 1}
    elif change == "unknown_element":
        resource["approvedUnits"] = 20
    elif change == "impossible_date":
        resource["created"] = "2026-02-30T10:00:00Z"
    elif change == "first_entry_not_a_claim_response":
        document["entry"].insert(0, {"resource": {"resourceType": "Patient", "id": "p"}})
    elif change == "entry_not_a_list":
        document["entry"] = resource
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("item_not_a_list", "ClaimResponse.item"),
        ("unknown_element", "ClaimResponse.approvedUnits"),
        ("impossible_date", "ClaimResponse.created"),
        ("first_entry_not_a_claim_response", "first entry must be a ClaimResponse"),
        ("entry_not_a_list", "Bundle.entry must be an array"),
    ],
)
async def test_a_malformed_pas_bundle_is_a_422_that_changes_nothing(
    api: Api, change: str, named: str
) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    delivery = new_id("dlv")

    response = await api.webhook("acme-medicaid", _bundle_breaking(view["trace_number"], change),
                                 "application/fhir+json", delivery=delivery)  # fmt: skip

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "unparseable"
    assert named in problem["detail"]
    entry = api.deps.inbox.get(delivery)
    assert entry is not None and entry.status == "rejected"
    after = await api.view(view["episode_id"])
    assert (after["state"], after["version"]) == (view["state"], view["version"])

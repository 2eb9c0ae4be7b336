"""The payer directory over HTTP: admin only, PUT replaces, intake refuses an unknown payer."""

from __future__ import annotations

import pytest

from tests.support.api_client import Api
from tests.support.intake import intake_body, new_id
from tests.support.webhooks import decision_body

PROBLEM_JSON = "application/problem+json"
PAS = {
    "base_url": "https://payer.example/fhir",
    "token_url": "https://payer.example/oauth/token",
    "client_id": "stepdown",
    "private_key": "file:/etc/stepdown/pas.pem",
}


async def test_put_with_plan_type_and_channel_registers_a_webhook_only_payer(api: Api) -> None:
    payer_id = new_id("payer")
    body = {"plan_type": "commercial", "channel": "webhook"}

    created = await api.call("PUT", f"/payers/{payer_id}", "admin", json=body)
    again = await api.call("PUT", f"/payers/{payer_id}", "admin", json=body)
    shown = await api.call("GET", f"/payers/{payer_id}", "admin")

    assert (created.status_code, again.status_code, shown.status_code) == (201, 200, 200)
    entry = shown.json()
    assert (entry["payer_id"], entry["channel"], entry["plan_type"]) == (
        payer_id,
        "webhook",
        "commercial",
    )
    assert entry["webhook_secrets"] == [] and entry["pas"] is None
    listed = (await api.call("GET", "/payers", "admin")).json()
    assert payer_id in [p["payer_id"] for p in listed]


async def test_a_pas_payer_keeps_its_endpoint_and_secret_references(api: Api) -> None:
    payer_id = new_id("payer")
    body = {
        "plan_type": "medicare_advantage",
        "channel": "pas",
        "display_name": "Bluepeak MA",
        "pas": PAS | {"algorithm": "ES384"},
        "webhook_secrets": ["env:BLUEPEAK_SECRET", "file:/run/secrets/bluepeak-old"],
    }

    response = await api.call("PUT", f"/payers/{payer_id}", "admin", json=body)

    assert response.status_code == 201
    entry = response.json()
    assert entry["pas"]["algorithm"] == "ES384" and entry["pas"]["key_id"] is None
    assert entry["webhook_secrets"] == body["webhook_secrets"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"plan_type": "commercial", "channel": "webhook", "webhook_secrets": ["s3cret"]},
         "#/webhook_secrets/0"),
        ({"plan_type": "commercial", "channel": "pas"}, "#/"),
        ({"plan_type": "gold", "channel": "webhook"}, "#/plan_type"),
        ({"plan_type": "commercial", "channel": "webhook", "color": "red"}, "#/color"),
    ],
)  # fmt: skip
async def test_malformed_settings_are_a_422_and_store_nothing(
    api: Api, body: dict[str, object], pointer: str
) -> None:
    payer_id = new_id("payer")

    response = await api.call("PUT", f"/payers/{payer_id}", "admin", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert pointer in [item.get("pointer") for item in response.json()["errors"]]
    assert (await api.call("GET", f"/payers/{payer_id}", "admin")).status_code == 404


async def test_only_admin_reads_or_writes_the_directory(api: Api) -> None:
    body = {"plan_type": "commercial", "channel": "webhook"}
    url = f"/payers/{new_id('payer')}"

    anonymous = await api.call("PUT", url, json=body)
    ops = await api.call("PUT", url, "ops", json=body)
    listing = await api.call("GET", "/payers", "intake")

    assert anonymous.status_code == 401
    assert (ops.status_code, listing.status_code) == (403, 403)
    assert ops.headers["content-type"] == PROBLEM_JSON
    assert (await api.call("GET", url, "admin")).status_code == 404


async def test_a_bad_payer_id_in_the_path_is_a_422(api: Api) -> None:
    response = await api.call("GET", "/payers/has%20spaces", "admin")

    assert response.status_code == 422


async def test_intake_refuses_an_unknown_payer_naming_the_field(api: Api) -> None:
    payer_id = new_id("payer")
    body = intake_body(payer={"id": payer_id, "plan_type": "commercial"})

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "unknown_payer"
    assert problem["errors"][0]["pointer"] == "#/payer/id"
    assert f"PUT /payers/{payer_id}" in problem["detail"]
    assert (await api.call("GET", f"/episodes/{body['episode_id']}", "ops")).status_code == 404


async def test_intake_refuses_a_plan_type_other_than_the_registered_one(api: Api) -> None:
    payer_id = new_id("payer")
    await api.call("PUT", f"/payers/{payer_id}", "admin", json={"plan_type": "commercial",
                                                                "channel": "webhook"})  # fmt: skip
    body = intake_body(payer={"id": payer_id, "plan_type": "medicaid_ffs"})

    refused = await api.call("POST", "/episodes", "intake", json=body)
    body["payer"]["plan_type"] = "commercial"
    opened = await api.call("POST", "/episodes", "intake", json=body)

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "#/payer/plan_type"
    assert opened.status_code == 201, opened.text


async def test_webhook_secrets_come_from_the_directory_references_with_rotation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    payer_id = new_id("payer")
    names = [f"WH_{payer_id.replace('-', '_').upper()}_{n}" for n in ("NEW", "OLD")]
    monkeypatch.setenv(names[0], "whsec-directory-new")
    monkeypatch.setenv(names[1], "whsec-directory-old")
    refs = [f"env:{name}" for name in names]
    body = {"plan_type": "commercial", "channel": "webhook", "webhook_secrets": refs}
    await api.call("PUT", f"/payers/{payer_id}", "admin", json=body)
    view = await api.open(payer={"id": payer_id, "plan_type": "commercial"})
    await api.traced(view["trace_number"])
    decision, content_type = decision_body(view["trace_number"], "A4", reason="more notes")

    settings_secret = await api.webhook(payer_id, decision, content_type)
    previous = await api.webhook(payer_id, decision, content_type, secret="whsec-directory-old")
    monkeypatch.delenv(names[1])
    retired = await api.webhook(payer_id, decision, content_type, secret="whsec-directory-old")
    current = await api.webhook(payer_id, decision, content_type, secret="whsec-directory-new")

    # The directory's references replace STEPDOWN_WEBHOOK_SECRETS for this payer.
    assert settings_secret.status_code == 401
    assert previous.status_code == 202, previous.text
    assert retired.status_code == 401
    assert current.status_code == 202, current.text

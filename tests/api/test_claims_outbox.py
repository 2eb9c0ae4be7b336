"""The claims outbox over HTTP: a claim released through the API is queued by the worker's
projection, cut into a valid 837I batch on demand, written to the mailbox directory, and
shown by batch id; bad input and the wrong role change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from activities.claims_batches import ClaimBatcher
from api.app import create_app
from payers.claim_files import LocalDirectorySink
from store.phi import cipher_from_settings
from store.sql_claims import SqlClaimBatches
from tests.api.test_billing import CLEAN, authorized, claim, services
from tests.api.test_cli import cli
from tests.support.api_client import Api
from tests.support.api_stack import Stack
from tests.support.http import served
from tests.support.intake import approval, new_id, service_line
from tests.support.polling import eventually
from tests.support.submitter import SUBMITTER
from tests.support.x12valid import x12_errors


@dataclasses.dataclass
class Billing:
    api: Api
    mailbox: Path


@pytest_asyncio.fixture(loop_scope="session")
async def billing(stack: Stack, tmp_path: Path) -> AsyncIterator[Billing]:
    """The shared stack's worker and database, with a submitter and a mailbox directory."""
    # The outbox is sealed with the stack's payload keys, as the batcher process reads it.
    outbox = SqlClaimBatches(stack.engine, cipher=cipher_from_settings(stack.settings))
    batcher = ClaimBatcher(outbox, LocalDirectorySink(tmp_path), SUBMITTER)
    deps = dataclasses.replace(stack.deps, claims=batcher)
    app = create_app(stack.settings, deps=deps)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        yield Billing(Api(http, dataclasses.replace(stack, app=app, deps=deps)), tmp_path)


async def released_claim(api: Api) -> tuple[str, str]:
    view = await authorized(api)
    episode_id, claim_id = view["episode_id"], new_id("C")
    await services(api, episode_id, service_line(**CLEAN))
    assert (await claim(api, episode_id, claim_id)).status_code == 201
    return episode_id, claim_id


async def outbox(api: Api, role: str = "billing", **params: Any) -> httpx.Response:
    return await api.call("GET", "/claims/outbox", role, params=params)


async def queued(api: Api, episode_id: str) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]]:
        response = await outbox(api, "ops", episode_id=episode_id)
        return response.json()["claims"]

    return await eventually(found)


async def test_a_released_claim_is_batched_sent_and_shown_as_837i(billing: Billing) -> None:
    api = billing.api
    episode_id, claim_id = await released_claim(api)
    [entry] = await queued(api, episode_id)
    assert (entry["claim_id"], entry["status"]) == (claim_id, "queued")

    response = await api.call("POST", "/claims/batches", "billing")

    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["status"] == "sent"
    assert (episode_id, claim_id) in {(c["episode_id"], c["claim_id"]) for c in batch["claims"]}
    x12 = await api.call("GET", f"/claims/batches/{batch['batch_id']}/x12", "ops")
    assert x12.headers["content-type"].startswith("application/edi-x12")
    trail = await asyncio.to_thread(api.deps.audit_log.entries, None, 50)
    assert any(e.action == "claims.batch_x12" and e.role == "ops" for e in trail)
    assert (billing.mailbox / batch["file_name"]).read_text() == x12.text
    assert x12_errors(x12.text) == []
    assert "REF*G1*AUTH-1~" in x12.text and "HI*BG:92~" in x12.text
    shown = await api.call("GET", f"/claims/batches/{batch['batch_id']}", "billing")
    assert shown.json()["interchange_control"] == batch["interchange_control"]
    [sent] = (await outbox(api, episode_id=episode_id)).json()["claims"]
    assert (sent["status"], sent["batch_id"]) == ("sent", batch["batch_id"])
    listed = (await api.call("GET", "/claims/batches", "ops")).json()["batches"]
    assert batch["batch_id"] in [b["batch_id"] for b in listed]


async def test_an_acknowledgement_accepts_or_rejects_every_claim_of_a_sent_batch(
    billing: Billing,
) -> None:
    api = billing.api
    episode_id, _ = await released_claim(api)
    await queued(api, episode_id)
    batch = (await api.call("POST", "/claims/batches", "billing")).json()
    path = f"/claims/batches/{batch['batch_id']}/acknowledgement"
    rejected = {"accepted": False, "error": "IK5*R: CLM05 invalid"}

    first = await api.call("POST", path, "billing", json=rejected)
    again = await api.call("POST", path, "billing", json=rejected)
    other = await api.call("POST", path, "billing", json={"accepted": True})

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "rejected"
    assert other.status_code == 409 and other.json()["type"].endswith("batch_state_conflict")
    [entry] = (await outbox(api, episode_id=episode_id)).json()["claims"]
    assert (entry["status"], entry["error"]) == ("rejected", "IK5*R: CLM05 invalid")


async def test_a_malformed_or_misplaced_acknowledgement_changes_nothing(billing: Billing) -> None:
    api = billing.api
    episode_id, _ = await released_claim(api)
    await queued(api, episode_id)
    batch = (await api.call("POST", "/claims/batches", "billing")).json()
    path = f"/claims/batches/{batch['batch_id']}/acknowledgement"

    malformed = await api.call("POST", path, "billing", json={"accepted": "maybe"})
    extra = await api.call("POST", path, "billing", json={"accepted": True, "x": 1})
    as_ops = await api.call("POST", path, "ops", json={"accepted": True})
    anonymous = await api.http.post(path, json={"accepted": True})
    unknown = await api.call(
        "POST", "/claims/batches/CB9999999/acknowledgement", "billing", json={"accepted": True}
    )

    statuses = (malformed, extra, as_ops, anonymous, unknown)
    assert [r.status_code for r in statuses] == [422, 422, 403, 401, 404]
    shown = (await api.call("GET", f"/claims/batches/{batch['batch_id']}", "ops")).json()
    assert shown["status"] == "sent"


async def test_a_second_cut_with_nothing_queued_is_409_and_cuts_nothing(billing: Billing) -> None:
    api = billing.api
    await api.call("POST", "/claims/batches", "billing")
    before = (await api.call("GET", "/claims/batches", "ops")).json()["batches"]

    again = await api.call("POST", "/claims/batches", "billing")

    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["type"].endswith("nothing_queued")
    assert (await api.call("GET", "/claims/batches", "ops")).json()["batches"] == before


async def test_a_cut_for_one_payer_leaves_the_others_queued(billing: Billing) -> None:
    api = billing.api
    episode_id, _ = await released_claim(api)
    await queued(api, episode_id)

    response = await api.call(
        "POST", "/claims/batches", "billing", json={"payer_id": new_id("nobody")}
    )

    assert response.status_code == 409
    [entry] = (await outbox(api, episode_id=episode_id)).json()["claims"]
    assert entry["status"] == "queued"


async def test_roles_tokens_and_bad_input_are_refused(billing: Billing) -> None:
    api = billing.api

    assert (await api.http.get("/claims/outbox")).status_code == 401
    assert (await outbox(api, "intake")).status_code == 403
    assert (await api.call("POST", "/claims/batches", "ops")).status_code == 403
    assert (await outbox(api, status="lost")).status_code == 422
    assert (await outbox(api, limit=0)).status_code == 422
    bad_payer = await api.call("POST", "/claims/batches", "billing", json={"payer_id": "a b"})
    extra = await api.call("POST", "/claims/batches", "billing", json={"everything": True})
    garbled = await api.call(
        "POST", "/claims/batches", "billing",
        content=b"{not json", headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert (bad_payer.status_code, extra.status_code, garbled.status_code) == (422, 422, 422)
    assert (await api.call("GET", "/claims/batches/CB9999999", "ops")).status_code == 404
    assert (await api.call("GET", "/claims/batches/CB9999999/x12", "ops")).status_code == 404
    assert (await api.call("GET", "/claims/batches/nope", "ops")).status_code == 422


async def test_without_a_submitter_a_cut_is_409_and_the_claim_stays_queued(api: Api) -> None:
    episode_id, _ = await released_claim(api)
    await queued(api, episode_id)

    response = await api.call("POST", "/claims/batches", "billing")

    assert response.status_code == 409
    assert response.json()["type"].endswith("claims_not_configured")
    [entry] = (await outbox(api, episode_id=episode_id)).json()["claims"]
    assert entry["status"] == "queued"


async def test_claims_export_cuts_a_batch_and_writes_its_837i_file(
    billing: Billing, tmp_path: Path
) -> None:
    api = billing.api
    episode_id, claim_id = await released_claim(api)
    await queued(api, episode_id)
    out = tmp_path / "export.x12"

    async with served(api.stack.app, log_level="warning") as url:
        cut = await cli("claims", "export", "-o", str(out), "--json", token="t-billing", server=url)
        batch_id = json.loads(cut.stdout)["batch_id"]
        again = await cli("claims", "export", "--batch", batch_id, "-o", str(tmp_path),
                          token="t-ops", server=url)  # fmt: skip
        empty = await cli("claims", "export", token="t-billing", server=url)
        unknown = await cli("claims", "export", "--batch", "CB9999999", token="t-ops", server=url)
        anonymous = await cli("claims", "outbox", server=url)
        listed = await cli("claims", "outbox", "--status", "sent", token="t-ops", server=url)

    assert cut.exit_code == 0, cut.stderr
    text = out.read_text()
    assert x12_errors(text) == [] and "HI*BG:92~" in text
    assert again.exit_code == 0 and batch_id in again.stdout
    shown = (await api.call("GET", f"/claims/batches/{batch_id}", "ops")).json()
    assert (tmp_path / shown["file_name"]).read_text() == text
    assert (empty.exit_code, unknown.exit_code, anonymous.exit_code) == (1, 1, 1)
    assert "no released claim is queued" in empty.stderr
    assert "CB9999999" in unknown.stderr
    assert claim_id in listed.stdout


async def test_a_claim_without_the_patients_address_is_refused_not_sent(billing: Billing) -> None:
    api = billing.api
    body_patient = {"id": "P-NA", "name": "No Address", "birth_date": "1980-01-01",
                    "member_id": new_id("M")}  # fmt: skip
    view = await api.open(patient=body_patient)
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    episode_id, claim_id = view["episode_id"], new_id("C")
    await services(api, episode_id, service_line(**CLEAN))
    assert (await claim(api, episode_id, claim_id)).status_code == 201
    await queued(api, episode_id)

    await api.call("POST", "/claims/batches", "billing")

    [entry] = (await outbox(api, episode_id=episode_id)).json()["claims"]
    assert (entry["status"], entry["batch_id"]) == ("rejected", None)
    assert "patient's address is missing" in entry["error"] and "2010BA" in entry["error"]

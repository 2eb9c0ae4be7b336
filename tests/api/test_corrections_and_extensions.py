"""Billing voids or corrects a recorded service (a hold it caused clears); ops records a payer's
extension notice (the deadline moves). Over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

from store.sql import SqlReadModel
from tests.api.test_billing import CLEAN, authorized, claim, services
from tests.support.api_client import Api
from tests.support.intake import new_id, service_line
from tests.support.polling import eventually


def url(episode_id: str, service_id: str, action: str) -> str:
    return f"/episodes/{episode_id}/services/{service_id}/{action}"


async def held_by_unsigned_roster(api: Api) -> tuple[str, dict[str, Any]]:
    view = await authorized(api)
    line = service_line(roster_signed=False, **CLEAN)
    assert (await services(api, view["episode_id"], line)).status_code == 200
    assert (await claim(api, view["episode_id"], "C-1")).status_code == 202
    return view["episode_id"], line


async def test_correcting_the_roster_releases_the_held_claim(api: Api) -> None:
    episode_id, line = await held_by_unsigned_roster(api)
    body = {"reason": "roster signed", "service": line | {"roster_signed": True}}

    response = await api.call(
        "POST", url(episode_id, line["service_id"], "correct"), "billing", json=body
    )

    assert response.status_code == 200, response.text
    (only,) = response.json()["claims"]
    assert (only["claim_id"], only["status"]) == ("C-1", "released")
    again = await api.call(
        "POST", url(episode_id, line["service_id"], "correct"), "billing", json=body
    )
    assert again.status_code == 200 and again.json()["version"] == response.json()["version"]


async def test_voiding_the_held_line_withdraws_its_claim_and_records_why(api: Api) -> None:
    episode_id, line = await held_by_unsigned_roster(api)
    path = url(episode_id, line["service_id"], "void")

    response = await api.call("POST", path, "billing", json={"reason": "not attended"})

    assert response.status_code == 200, response.text
    assert response.json()["claims"][0]["status"] == "superseded"
    await api.projected(episode_id, response.json()["version"])
    events = (await api.call("GET", f"/episodes/{episode_id}/events", "ops")).json()
    voided = [e for e in events if e["type"] == "service_voided"]
    assert [e["data"]["reason"] for e in voided] == ["not attended"]
    # The SQL read model follows: the withdrawn claim is no longer held there either.
    stored = SqlReadModel(api.stack.engine).claims(episode_id)
    assert [(x.claim_id, x.status) for x in stored] == [("C-1", "superseded")]
    again = await api.call("POST", path, "billing", json={"reason": "not attended"})
    assert again.status_code == 200 and again.json()["version"] == response.json()["version"]


async def test_a_line_on_a_released_claim_cannot_be_voided(api: Api) -> None:
    view = await authorized(api)
    line = service_line(**CLEAN)
    await services(api, view["episode_id"], line)
    assert (await claim(api, view["episode_id"], "C-1")).status_code == 201

    response = await api.call(
        "POST", url(view["episode_id"], line["service_id"], "void"), "billing", json={"reason": "x"}
    )

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "released claim C-1" in response.json()["detail"]


async def test_an_unknown_service_is_404(api: Api) -> None:
    view = await authorized(api)
    response = await api.call(
        "POST", url(view["episode_id"], "S-none", "void"), "billing", json={"reason": "x"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_service"


async def test_bad_bodies_are_422_and_change_nothing(api: Api) -> None:
    episode_id, line = await held_by_unsigned_roster(api)
    before = (await api.view(episode_id))["version"]
    sid = line["service_id"]
    cases = [
        ("void", {}),
        ("void", {"reason": ""}),
        ("void", {"reason": "x", "extra": 1}),
        ("correct", {"reason": "x"}),
        ("correct", {"reason": "x", "service": line | {"service_id": new_id("S")}}),
        ("correct", {"reason": "x", "service": line | {"rendering_npi": "1234567890"}}),
    ]
    for action, body in cases:
        response = await api.call("POST", url(episode_id, sid, action), "billing", json=body)
        assert response.status_code == 422, (action, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.view(episode_id))["version"] == before


async def test_only_billing_may_void_or_correct(api: Api) -> None:
    episode_id, line = await held_by_unsigned_roster(api)
    path = url(episode_id, line["service_id"], "void")
    assert (await api.call("POST", path, None, json={"reason": "x"})).status_code == 401
    assert (await api.call("POST", path, "intake", json={"reason": "x"})).status_code == 403


async def test_an_extension_notice_moves_the_payer_deadline_once(api: Api) -> None:
    view = await api.open(payer={"id": new_id("ma"), "plan_type": "medicare_advantage"})
    episode_id = view["episode_id"]
    path = f"/episodes/{episode_id}/decision-extension"
    due = {d["kind"]: d["due"] for d in view["deadlines"]}["payer_decision_due"]

    response = await api.call("POST", path, "ops", json={"reason": "records needed"})

    assert response.status_code == 200, response.text
    moved = {d["kind"]: d["due"] for d in response.json()["deadlines"]}["payer_decision_due"]
    assert moved > due and response.json()["state"] == "auth_requested"
    again = await api.call("POST", path, "ops", json={})
    assert again.status_code == 409 and "already extended" in again.json()["detail"]
    too_long = await api.call("POST", path, "ops", json={"days": 61})
    assert too_long.status_code == 422
    assert (await api.call("POST", path, "billing", json={})).status_code == 403


async def test_the_payers_pended_answer_with_extension_days_moves_the_deadline(api: Api) -> None:
    view = await api.open(payer={"id": new_id("ma"), "plan_type": "medicare_advantage"})
    episode_id = view["episode_id"]
    due = {d["kind"]: d["due"] for d in view["deadlines"]}["payer_decision_due"]

    response = await api.decide(view, "A4", extension_days=14, reason="records needed")

    assert response.status_code == 202, response.text

    async def moved() -> str | None:
        deadlines = {d["kind"]: d["due"] for d in (await api.view(episode_id))["deadlines"]}
        return deadlines["payer_decision_due"] if deadlines["payer_decision_due"] != due else None

    assert await eventually(moved) > due
    after = await api.view(episode_id)
    assert after["state"] == "auth_requested"
    events = (await api.call("GET", f"/episodes/{episode_id}/events", "ops")).json()
    [extended] = [e for e in events if e["type"] == "decision_extended"]
    assert extended["data"]["days"] == 14 and extended["data"]["delivery_id"]
    # The ops route now finds the window already extended by the payer's own notice.
    again = await api.call("POST", f"/episodes/{episode_id}/decision-extension", "ops", json={})
    assert again.status_code == 409 and "already extended" in again.json()["detail"]


async def test_extension_days_on_an_approval_is_refused_at_the_door(api: Api) -> None:
    view = await api.open(payer={"id": new_id("ma"), "plan_type": "medicare_advantage"})
    await api.traced(view["trace_number"])
    body = (
        b'{"trace_number": "' + view["trace_number"].encode() + b'", "action": "A1", '
        b'"authorization_number": "A-1", "end": "2030-01-01", "units": 5, "extension_days": 14}'
    )

    response = await api.webhook(view["payer"]["id"], body)

    assert response.status_code == 422, response.text
    assert "extension_days" in response.json()["detail"]
    assert (await api.view(view["episode_id"]))["state"] == "auth_requested"

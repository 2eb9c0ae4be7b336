"""One episode end to end over HTTP on the dev server, from intake to a closed episode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from store.schema import ClaimOutboxRow
from tests.support.api_client import Api
from tests.support.intake import new_id, service_line, today
from tests.support.polling import eventually


async def short_authorization(api: Api, view: dict[str, Any]) -> dict[str, Any]:
    """90853 for three days: inside the review window at once, so an extension is asked."""
    short = {"authorization_number": "AUTH-7", "start": today(), "end": today() + timedelta(2)}
    granted = await api.decide(view, "A1", units=3, service_codes=("90853",), **short)
    assert granted.json()["status"] == "applied"
    return await api.view(view["episode_id"])


async def bill(api: Api, view: dict[str, Any], code: str) -> httpx.Response:
    """Records one service with `code` today and asks for a claim up to today."""
    episode = f"/episodes/{view['episode_id']}"
    line = service_line(code=code)
    recorded = await api.call("POST", f"{episode}/services", "billing", json={"services": [line]})
    assert recorded.json()["accepted"] == [line["service_id"]]
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    return await api.call("POST", f"{episode}/claims", "billing", json=claim)


async def delivered_claims(api: Api, episode_id: str, count: int) -> list[str]:
    """The claims in the product's outbox (queued with their projection), once `count`."""
    query = select(ClaimOutboxRow.claim_id).where(ClaimOutboxRow.episode_id == episode_id)

    async def delivered() -> list[str]:
        with api.stack.engine.connect() as connection:
            ids = list(connection.scalars(query))
        return ids if len(ids) == count else []

    return sorted(await eventually(delivered))


async def test_intake_to_discharge_with_a_held_claim_released_by_an_extension(api: Api) -> None:
    view = await api.open()
    authorized = await short_authorization(api, view)
    assert authorized["state"] == "authorized"
    assert authorized["trace_number"] != view["trace_number"]

    released = await bill(api, view, "90853")
    held = await bill(api, view, "G0410")
    assert released.status_code == 201
    assert held.status_code == 202
    assert [r["code"] for r in held.json()["reasons"]] == ["code_not_authorized"]

    extension = {"authorization_number": "AUTH-7", "end": today() + timedelta(30), "units": 10}
    extended = await api.decide(authorized, "A1", service_codes=("G0410",), **extension)
    assert extended.json()["status"] == "applied"
    after = await api.view(view["episode_id"])
    assert {c["claim_id"]: c["status"] for c in after["claims"]}[held.json()["claim_id"]] == (
        "released"
    )

    discharge = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    path = f"/episodes/{view['episode_id']}/discharge"
    closed = await api.call("POST", path, "intake", json=discharge)
    assert (closed.status_code, closed.json()["state"]) == (200, "closed")

    claim_ids = sorted([released.json()["claim_id"], held.json()["claim_id"]])
    assert await delivered_claims(api, view["episode_id"], 2) == claim_ids
    await api.projected(view["episode_id"], closed.json()["version"])
    events = (await api.call("GET", f"/episodes/{view['episode_id']}/events", "ops")).json()
    types = [e["type"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("claim_released") == 2 and types.count("claim_held") == 1
    assert types[-2:] == ["discharged", "episode_closed"]

"""One episode end to end over HTTP on the dev server, from intake to a closed episode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.helpers import Api, eventually, new_id, service_line, today


async def post(api: Api, role: str, path: str, body: dict[str, Any]) -> Any:
    return await api.call("POST", path, role, json=body)


async def test_intake_to_discharge_with_a_held_claim_released_by_an_extension(api: Api) -> None:
    view = await api.open()
    episode = f"/episodes/{view['episode_id']}"

    # The payer authorizes 90853 for three days: inside the review window at once, so the
    # episode asks for an extension straight away.
    short = {"authorization_number": "AUTH-7", "start": today(), "end": today() + timedelta(2)}
    granted = await api.decide(view, "A1", units=3, service_codes=("90853",), **short)
    assert granted.json()["status"] == "applied"
    authorized = await api.view(view["episode_id"])
    assert authorized["state"] == "authorized"
    assert authorized["trace_number"] != view["trace_number"]

    covered = service_line(code="90853")
    recorded = await post(api, "billing", f"{episode}/services", {"services": [covered]})
    assert recorded.json()["accepted"] == [covered["service_id"]]
    first = await post(
        api,
        "billing",
        f"{episode}/claims",
        {"claim_id": new_id("C"), "through": today().isoformat()},
    )
    assert first.status_code == 201

    outside = service_line(code="G0410")
    await post(api, "billing", f"{episode}/services", {"services": [outside]})
    held_id = new_id("C")
    held = await post(
        api, "billing", f"{episode}/claims", {"claim_id": held_id, "through": today().isoformat()}
    )
    assert held.status_code == 202
    assert [r["code"] for r in held.json()["reasons"]] == ["code_not_authorized"]

    extension = {"authorization_number": "AUTH-7", "end": today() + timedelta(30), "units": 10}
    extended = await api.decide(authorized, "A1", service_codes=("G0410",), **extension)
    assert extended.json()["status"] == "applied"

    after = await api.view(view["episode_id"])
    assert {c["claim_id"]: c["status"] for c in after["claims"]}[held_id] == "released"
    assert after["authorization"]["end"] == (today() + timedelta(30)).isoformat()

    discharge = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    closed = await post(api, "intake", f"{episode}/discharge", discharge)
    assert (closed.status_code, closed.json()["state"]) == (200, "closed")

    async def delivered() -> list[str]:
        ids = [
            c.claim_id
            for c in api.stack.ports.outbox.delivered
            if c.episode_id == view["episode_id"]
        ]
        return ids if len(ids) == 2 else []

    assert sorted(await eventually(delivered)) == sorted([first.json()["claim_id"], held_id])
    await api.projected(view["episode_id"], closed.json()["version"])
    events = (await api.call("GET", f"{episode}/events", "ops")).json()
    types = [e["type"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("claim_released") == 2 and types.count("claim_held") == 1
    assert types[-2:] == ["discharged", "episode_closed"]

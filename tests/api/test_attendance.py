"""Schedule and attendance over HTTP: sessions recorded, services derived, no-shows never
billed, bad input refused with nothing changed (both databases)."""

from __future__ import annotations

from typing import Any

from tests.api.test_billing import authorized
from tests.support.api_client import Api
from tests.support.intake import new_id, today

BILL = {"code": "90853", "revenue_code": "0905", "rendering_npi": "1234567893", "charge": "80.00"}


def session(status: str = "attended", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": new_id("A"),
        "date": today().isoformat(),
        "status": status,
    }
    if status == "attended":
        body["minutes"] = 60
    return body | fields


async def attend(
    api: Api, episode_id: str, *sessions: dict[str, Any], role: str = "billing"
) -> Any:
    body = {"sessions": list(sessions)}
    return await api.call("POST", f"/episodes/{episode_id}/attendance", role, json=body)


async def test_the_schedule_is_set_and_shown_on_the_episode(api: Api) -> None:
    view = await authorized(api)
    schedule = {"days_per_week": 3, "hours_per_day": "3", "weekdays": [1, 3, 5]}
    path = f"/episodes/{view['episode_id']}/schedule"

    response = await api.call("PUT", path, "intake", json=schedule)

    assert response.status_code == 200, response.text
    assert response.json()["attendance"]["schedule"]["days_per_week"] == 3
    again = await api.call("PUT", path, "ops", json=schedule)
    assert again.json()["version"] == response.json()["version"]
    assert (await api.call("PUT", path, "billing", json=schedule)).status_code == 403
    bad = await api.call("PUT", path, "intake", json={"days_per_week": 8, "hours_per_day": "3"})
    assert bad.status_code == 422


async def test_attended_sessions_derive_services_and_no_shows_are_never_billed(api: Api) -> None:
    view = await authorized(api)
    billed, missed = session(bill=BILL), session("no_show")

    response = await attend(api, view["episode_id"], billed, missed)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recorded"] == [billed["session_id"], missed["session_id"]]
    assert body["services"] == [billed["session_id"]]
    assert body["episode"]["attendance"]["missed"] == 1
    claim = await api.call(
        "POST",
        f"/episodes/{view['episode_id']}/claims",
        "billing",
        json={"claim_id": new_id("C"), "through": today().isoformat()},
    )
    assert claim.status_code == 201, claim.text
    lines = [line["service_id"] for line in claim.json()["claim"]["lines"]]
    assert lines == [billed["session_id"]]
    again = await attend(api, view["episode_id"], billed, missed)
    assert again.json()["duplicates"] == [billed["session_id"], missed["session_id"]]


async def test_bad_attendance_is_422_and_records_nothing(api: Api) -> None:
    view = await authorized(api)
    before = (await api.view(view["episode_id"]))["version"]
    cases = [
        [session("no_show", bill=BILL)],
        [session(minutes=None)],
        [session(status="maybe")],
        [session(date="2000-01-01")],
        [],
    ]
    for sessions in cases:
        response = await attend(api, view["episode_id"], *sessions)
        assert response.status_code == 422, (sessions, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.view(view["episode_id"]))["version"] == before


async def test_only_billing_and_ops_record_attendance(api: Api) -> None:
    view = await authorized(api)
    path = f"/episodes/{view['episode_id']}/attendance"
    body = {"sessions": [session()]}
    assert (await api.call("POST", path, None, json=body)).status_code == 401
    assert (await api.call("POST", path, "intake", json=body)).status_code == 403
    missing = await api.call("POST", f"/episodes/{new_id()}/attendance", "billing", json=body)
    assert missing.status_code == 404

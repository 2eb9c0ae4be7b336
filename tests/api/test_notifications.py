"""Notifications over HTTP: each role reads and marks its own; bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.api_client import Api
from tests.support.intake import new_id


def notify(api: Api, kind: str, roles: list[str]) -> str:
    episode_id = new_id()
    assert api.deps.notifications is not None
    api.deps.notifications.store(episode_id, "1", kind, "detail", roles, datetime.now(UTC))
    return episode_id


async def unread(api: Api, role: str) -> dict[str, int]:
    response = await api.call("GET", "/notifications", role)
    assert response.status_code == 200, response.text
    return {n["episode_id"]: n["id"] for n in response.json()["notifications"]}


async def test_billing_reads_and_marks_its_claims_held_notification(api: Api) -> None:
    held = notify(api, "claims_held", ["billing"])
    mine = await unread(api, "billing")
    assert held in mine and held not in await unread(api, "ops")

    marked = await api.call("POST", f"/notifications/{mine[held]}/read", "billing")

    assert (marked.status_code, marked.json()) == (200, {"marked": 1})
    assert held not in await unread(api, "billing")
    read = await api.call("GET", "/notifications", "billing", params={"unread": "false"})
    assert held in {n["episode_id"] for n in read.json()["notifications"]}


async def test_another_roles_notification_or_a_repeat_is_404(api: Api) -> None:
    held = notify(api, "claims_held", ["billing"])
    number = (await unread(api, "billing"))[held]

    theirs = await api.call("POST", f"/notifications/{number}/read", "ops")
    await api.call("POST", f"/notifications/{number}/read", "billing")
    again = await api.call("POST", f"/notifications/{number}/read", "billing")

    assert theirs.status_code == again.status_code == 404
    assert theirs.json()["type"].endswith("unknown_notification")


async def test_mark_all_read_is_per_role(api: Api) -> None:
    for_intake = notify(api, "info_requested", ["intake"])
    for_ops = notify(api, "payer_decision_overdue", ["ops"])

    response = await api.call("POST", "/notifications/read", "intake")

    assert response.status_code == 200 and response.json()["marked"] >= 1
    assert for_intake not in await unread(api, "intake")
    assert for_ops in await unread(api, "ops")


async def test_no_token_or_bad_input_is_refused(api: Api) -> None:
    assert (await api.http.get("/notifications")).status_code == 401
    assert (await api.http.post("/notifications/1/read")).status_code == 401
    assert (await api.call("POST", "/notifications/zero/read", "ops")).status_code == 422
    assert (await api.call("POST", "/notifications/0/read", "ops")).status_code == 422
    assert (await api.call("GET", "/notifications", "ops", params={"limit": 0})).status_code == 422

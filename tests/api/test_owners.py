"""PUT /episodes/{id}/owner (ops) and GET /worklist?owner=: who works which episode."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from api.people import add_user, disable_user
from store.sql_users import SqlUserStore
from tests.support.api_client import Api
from tests.support.intake import new_id


def person(api: Api, *roles: str) -> str:
    login = f"u{uuid.uuid4().hex[:10]}"
    add_user(
        SqlUserStore(api.stack.engine), login, list(roles), f"Person {login}", api.deps.clock()
    )
    return login


async def denied(api: Api) -> str:
    view = await api.open()
    assert (await api.decide(view, "A3", reason="criteria")).status_code == 202
    await api.projected(view["episode_id"], view["version"] + 1)
    return str(view["episode_id"])


async def assign(api: Api, episode_id: str, username: Any, role: str = "ops") -> Any:
    return await api.call("PUT", f"/episodes/{episode_id}/owner", role, json={"username": username})


async def test_ops_assign_an_episode_and_the_worklist_filters_by_owner(api: Api) -> None:
    dana = person(api, "ops")
    mine, other = await denied(api), await denied(api)

    assigned = await assign(api, mine, dana)
    found = await api.call("GET", "/worklist", "ops", params={"owner": dana})
    released = await assign(api, mine, None)
    after = await api.call("GET", "/worklist", "ops", params={"owner": dana})

    assert assigned.status_code == 200
    assert assigned.json() == {
        "episode_id": mine,
        "owner": {"username": dana, "name": f"Person {dana}"},
    }
    assert {i["episode_id"] for i in found.json()} == {mine}
    assert other not in str(found.json())
    assert released.json()["owner"] is None and after.json() == []
    entries = await asyncio.to_thread(api.deps.audit_log.entries, mine)
    outcomes = [e.outcome for e in entries if e.action == "episode.owner"]
    assert outcomes == ["unassigned", "assigned"]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("nobody-here", "there is no user 'nobody-here'"),
        ("billing", "works on claims, not episodes"),
        ("disabled", "is disabled"),
    ],
)
async def test_only_an_active_ops_or_intake_person_can_own_an_episode(
    api: Api, who: str, message: str
) -> None:
    episode_id = await denied(api)
    username = who
    if who == "billing":
        username = person(api, "billing")
    elif who == "disabled":
        username = person(api, "ops")
        disable_user(SqlUserStore(api.stack.engine), username, api.deps.clock())

    response = await assign(api, episode_id, username)

    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["pointer"] == "#/username"
    assert SqlUserStore(api.stack.engine).owners([episode_id]) == {}


async def test_bad_bodies_unknown_episodes_and_unknown_owners_are_refused(api: Api) -> None:
    episode_id = await denied(api)

    missing = await api.call("PUT", f"/episodes/{episode_id}/owner", "ops", json={})
    extra = await api.call(
        "PUT", f"/episodes/{episode_id}/owner", "ops", json={"username": None, "x": 1}
    )
    garbled = await api.call(
        "PUT",
        f"/episodes/{episode_id}/owner",
        "ops",
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    unknown = await assign(api, new_id(), person(api, "ops"))
    worklist = await api.call("GET", "/worklist", "ops", params={"owner": "nobody-here"})

    assert missing.status_code == extra.status_code == garbled.status_code == 422
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert worklist.status_code == 422 and "owner" in str(worklist.json()["errors"])

"""GET /episodes?q=: intake and ops find an episode by patient, member id, authorization, trace."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.api_client import Api
from tests.support.intake import approval
from tests.support.polling import eventually


def patient(name: str, member_id: str) -> dict[str, Any]:
    return {"id": "P-1", "name": name, "birth_date": "1980-02-03", "member_id": member_id}


async def search(api: Api, q: str, role: str = "intake", **params: Any) -> set[str]:
    response = await api.call("GET", "/episodes", role, params={"q": q, "limit": 200} | params)
    assert response.status_code == 200, response.text
    return {s["episode_id"] for s in response.json()["episodes"]}


async def test_an_episode_is_found_by_name_member_id_trace_and_authorization(api: Api) -> None:
    surname, member = f"Zed{uuid.uuid4().hex[:8]}", f"M{uuid.uuid4().hex[:10]}"
    view = await api.open(patient=patient(f"Ana {surname}", member))
    episode_id = view["episode_id"]

    assert await eventually(lambda: _has(api, surname.lower(), episode_id))
    assert await search(api, f"ANA {surname}") == {episode_id}
    assert await search(api, member, role="ops") == {episode_id}
    assert await search(api, view["trace_number"]) == {episode_id}
    assert await search(api, surname, state="auth_requested") == {episode_id}
    assert await search(api, surname, state="authorized") == set()

    number = f"AUTH-{uuid.uuid4().hex[:8]}"
    assert (await api.decide(view, "A1", **approval(number=number))).status_code == 202
    assert await eventually(lambda: _has(api, number, episode_id))


async def _has(api: Api, q: str, episode_id: str) -> bool:
    return episode_id in await search(api, q)


@pytest.mark.parametrize("q", ["", "x" * 201])
async def test_an_empty_or_overlong_query_is_a_422_naming_q(api: Api, q: str) -> None:
    response = await api.call("GET", "/episodes", "ops", params={"q": q})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "q" in str(response.json()["errors"])


async def test_a_query_of_punctuation_finds_nothing_rather_than_everything(api: Api) -> None:
    await api.open()

    assert await search(api, "%_*") == set()


async def test_billing_may_not_search_and_strangers_are_refused(api: Api) -> None:
    billing = await api.call("GET", "/episodes", "billing", params={"q": "roe"})
    stranger = await api.call("GET", "/episodes", params={"q": "roe"})

    assert billing.status_code == 403 and stranger.status_code == 401

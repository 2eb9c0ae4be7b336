"""P2P, appeal, discharge, cancel and information: 200 view, 404, 409 naming the state, 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.api_client import Api
from tests.support.api_episodes import denied
from tests.support.intake import approval, new_id, today


async def authorized(api: Api) -> dict[str, Any]:
    view = await api.open()
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    return await api.view(view["episode_id"])


async def post(api: Api, view: dict[str, Any], action: str, body: Any, role: str = "ops") -> Any:
    return await api.call("POST", f"/episodes/{view['episode_id']}/{action}", role, json=body)


async def unchanged(api: Api, view: dict[str, Any]) -> bool:
    return (await api.view(view["episode_id"]))["version"] == view["version"]


async def test_a_denial_goes_through_p2p_request_schedule_and_overturn(api: Api) -> None:
    view = await denied(api)
    call_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    requested = await post(api, view, "p2p", {"action": "request"})
    scheduled = await post(api, view, "p2p", {"action": "schedule", "at": call_at})
    decided = await post(api, view, "p2p", {"action": "outcome", "outcome": "overturned"})

    assert [r.status_code for r in (requested, scheduled, decided)] == [200, 200, 200]
    assert requested.json()["state"] == "p2p_requested"
    assert scheduled.json()["state"] == "p2p_scheduled"
    assert decided.json()["state"] == "auth_requested"
    assert decided.json()["version"] > view["version"]


async def test_p2p_outside_a_denial_is_409_naming_the_state_and_changes_nothing(api: Api) -> None:
    view = await api.open()

    response = await post(api, view, "p2p", {"action": "request"})

    assert response.status_code == 409
    problem = response.json()
    assert problem["state"] == "auth_requested"
    assert "auth_requested" in problem["detail"] and "allowed in: denied" in problem["detail"]
    assert await unchanged(api, view)


@pytest.mark.parametrize(
    "body",
    [{"action": "schedule"}, {"action": "outcome"}, {"action": "hope"}, {"at": "tomorrow"}],
)
async def test_an_incomplete_p2p_action_is_422_and_changes_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    view = await denied(api)
    await post(api, view, "p2p", {"action": "request"})
    view = await api.view(view["episode_id"])

    response = await post(api, view, "p2p", body)

    assert response.status_code == 422
    assert response.json()["detail"]
    assert await unchanged(api, view)


async def test_an_appeal_is_filed_and_decided(api: Api) -> None:
    view = await denied(api)

    filed = await post(api, view, "appeal", {"action": "file", "level": "expedited"})
    decided = await post(api, view, "appeal", {"action": "outcome", "outcome": "upheld"})

    assert (filed.status_code, filed.json()["state"]) == (200, "appeal")
    assert decided.status_code == 200 and decided.json()["state"] != "appeal"


async def test_an_appeal_without_a_denial_is_409_and_an_outcome_without_value_422(
    api: Api,
) -> None:
    view = await api.open()
    refused = await post(api, view, "appeal", {"action": "file"})
    assert (refused.status_code, refused.json()["state"]) == (409, "auth_requested")
    view = await denied(api)
    await post(api, view, "appeal", {"action": "file"})
    view = await api.view(view["episode_id"])

    incomplete = await post(api, view, "appeal", {"action": "outcome"})

    assert incomplete.status_code == 422
    assert "outcome" in incomplete.json()["detail"]
    assert await unchanged(api, view)


async def test_discharge_closes_an_episode_with_nothing_left_to_bill(api: Api) -> None:
    view = await authorized(api)
    body = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}

    response = await post(api, view, "discharge", body, role="intake")

    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    again = await post(api, view, "discharge", body)
    assert again.status_code == 409
    assert again.json()["state"] == "closed"
    assert "closed" in again.json()["detail"]


async def test_a_discharge_in_the_future_or_with_a_bad_status_is_422(api: Api) -> None:
    view = await authorized(api)
    later = (today() + timedelta(days=3)).isoformat()

    future = await post(
        api, view, "discharge", {"date": later, "patient_status": "01", "disposition": "other"}
    )
    status = await post(
        api,
        view,
        "discharge",
        {"date": today().isoformat(), "patient_status": "1", "disposition": "other"},
    )

    assert future.status_code == 422 and "future" in future.json()["detail"]
    assert status.status_code == 422 and status.json()["errors"][0]["pointer"] == "#/patient_status"
    assert await unchanged(api, view)


async def test_cancel_ends_the_episode_and_a_second_cancel_is_409(api: Api) -> None:
    view = await api.open()

    first = await post(api, view, "cancel", {"reason": "patient moved"}, role="intake")
    second = await post(api, view, "cancel", {"reason": "again"})

    assert (first.status_code, first.json()["state"]) == (200, "cancelled")
    assert second.status_code == 409 and second.json()["state"] == "cancelled"


async def test_cancel_without_a_reason_is_422_and_changes_nothing(api: Api) -> None:
    view = await api.open()

    for body in ({}, {"reason": ""}, {"reason": "x", "extra": 1}):
        response = await post(api, view, "cancel", body)
        assert response.status_code == 422, body

    assert await unchanged(api, view)


async def test_information_answers_a_pend_and_is_409_when_nothing_was_asked(api: Api) -> None:
    view = await api.open()
    refused = await post(api, view, "information", {"note": "discharge summary sent"})
    assert refused.status_code == 409 and refused.json()["state"] == "auth_requested"
    assert await unchanged(api, view)
    assert (await api.decide(view, "A4", reason="send the discharge summary")).is_success
    pended = await api.view(view["episode_id"])
    assert pended["state"] == "info_requested"

    empty = await post(api, pended, "information", {"note": ""})
    answered = await post(api, pended, "information", {"note": "discharge summary sent"}, "intake")

    assert empty.status_code == 422
    assert answered.status_code == 200 and answered.json()["state"] == "auth_requested"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("p2p", {"action": "request"}),
        ("appeal", {"action": "file"}),
        ("discharge", {"date": "2026-11-30", "patient_status": "01", "disposition": "other"}),
        ("cancel", {"reason": "x"}),
        ("information", {"note": "x"}),
    ],
)
async def test_an_action_on_an_unknown_episode_is_404(
    api: Api, action: str, body: dict[str, Any]
) -> None:
    episode_id = new_id()

    response = await api.call("POST", f"/episodes/{episode_id}/{action}", "admin", json=body)

    assert response.status_code == 404
    assert response.json()["title"] == "No such episode"

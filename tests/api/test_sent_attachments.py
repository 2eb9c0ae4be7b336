"""Attachments named in an information response, a P2P request or an appeal: checked against
the episode, recorded on the event, and carried by the P2P request the payer gets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_actions import post, unchanged
from tests.api.test_attachments import PDF, PNG, upload
from tests.support.api_client import Api
from tests.support.api_episodes import denied
from tests.support.intake import new_id
from tests.support.polling import eventually


async def attach(api: Api, view: dict[str, Any], name: str, data: bytes) -> int:
    kind = "image/png" if data.startswith(b"\x89PNG") else "application/pdf"
    await api.projected(view["episode_id"], view["version"])  # the read model knows it
    added = await upload(api, view["episode_id"], name, data, kind=kind)
    assert added.status_code == 201, added.text
    return int(added.json()["id"])


async def event_data(api: Api, episode_id: str, event_type: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        response = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
        matching = [e["data"] for e in response.json() if e["type"] == event_type]
        return matching[-1] if matching else None

    return await eventually(found)


async def test_a_p2p_request_carries_its_attachments_to_the_payer(api: Api) -> None:
    view = await denied(api)
    summary = await attach(api, view, "PHP discharge summary.pdf", PDF)
    scan = await attach(api, view, "ASAM assessment.png", PNG)

    requested = await post(api, view, "p2p", {"action": "request", "attachments": [summary, scan]})

    assert requested.status_code == 200, requested.text

    async def sent() -> Any:
        found = [
            r
            for r in api.stack.ports.payer_gateway.accepted
            if r.episode_id == view["episode_id"] and r.purpose == "p2p"
        ]
        return found[0] if found else None

    request = await eventually(sent)
    assert request.payload["attachments"] == [summary, scan]
    # The denied request's facts go too: a PAS payer gets the review as a $submit.
    assert request.payload["member_id"] and request.payload["requested"]["service_codes"]
    recorded = await event_data(api, view["episode_id"], "p2p_requested")
    assert recorded["attachments"] == [summary, scan]


async def test_an_information_response_and_an_appeal_record_their_attachments(api: Api) -> None:
    view = await api.open()
    assert (await api.decide(view, "A4", reason="send the discharge summary")).is_success
    pended = await api.view(view["episode_id"])
    summary = await attach(api, view, "discharge.pdf", PDF)

    answered = await post(
        api, pended, "information", {"note": "summary sent", "attachments": [summary]}, "intake"
    )

    assert answered.status_code == 200, answered.text
    info = await event_data(api, view["episode_id"], "information_provided")
    assert info["attachments"] == [summary]

    denial = await denied(api)
    letter = await attach(api, denial, "appeal letter.pdf", PDF)
    filed = await post(api, denial, "appeal", {"action": "file", "attachments": [letter]})
    assert filed.status_code == 200, filed.text
    appeal = await event_data(api, denial["episode_id"], "appeal_filed")
    assert appeal["attachments"] == [letter]


@pytest.mark.parametrize("problem", ["other_episode", "unknown", "twice", "not_an_id", "outcome"])
async def test_attachments_that_are_not_the_episodes_are_422_and_nothing_changes(
    api: Api, problem: str
) -> None:
    view = await denied(api)
    other = await api.open()
    mine = await attach(api, view, "mine.pdf", PDF)
    theirs = await attach(api, other, "theirs.pdf", PDF)
    body: dict[str, Any] = {
        "other_episode": {"action": "request", "attachments": [theirs]},
        "unknown": {"action": "request", "attachments": [mine, 2**31 - 1]},
        "twice": {"action": "request", "attachments": [mine, mine]},
        "not_an_id": {"action": "request", "attachments": ["summary.pdf"]},
        "outcome": {"action": "outcome", "outcome": "upheld", "attachments": [mine]},
    }[problem]

    response = await post(api, view, "p2p", body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"
    assert await unchanged(api, view)


async def test_attachments_need_a_token_and_the_ops_role(api: Api) -> None:
    view = await denied(api)
    mine = await attach(api, view, "mine.pdf", PDF)
    url = f"/episodes/{view['episode_id']}/p2p"
    body = {"action": "request", "attachments": [mine]}

    anonymous = await api.http.post(url, json=body)
    billing = await api.call("POST", url, "billing", json=body)
    unknown_episode = await api.call("POST", f"/episodes/{new_id()}/p2p", "ops", json=body)

    assert anonymous.status_code == 401
    assert billing.status_code == 403
    assert unknown_episode.status_code == 422  # the attachment is not that episode's
    assert await unchanged(api, view)


async def test_a_repeated_request_with_the_same_key_sends_the_attachments_once(api: Api) -> None:
    view = await denied(api)
    mine = await attach(api, view, "mine.pdf", PDF)
    body = {"action": "request", "attachments": [mine]}
    headers = {"Idempotency-Key": f"p2p-{new_id()}"}
    url = f"/episodes/{view['episode_id']}/p2p"

    first = await api.call("POST", url, "ops", json=body, headers=headers)
    again = await api.call("POST", url, "ops", json=body, headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()

    async def sent() -> list[Any]:
        return [
            r
            for r in api.stack.ports.payer_gateway.accepted
            if r.episode_id == view["episode_id"] and r.purpose == "p2p"
        ]

    assert len(await eventually(sent)) == 1

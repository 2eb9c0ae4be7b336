"""Ops reads: the episode list with filters and cursor, events, decoded history, worklist, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.api_client import Api
from tests.support.commands import dated_command
from tests.support.intake import approval, new_id, today
from tests.support.polling import eventually
from workflows.client import EpisodeClient


def payer(payer_id: str) -> dict[str, str]:
    return {"id": payer_id, "plan_type": "medicaid_managed_care"}


async def opened_for(api: Api, payer_id: str, count: int) -> list[dict[str, Any]]:
    views = [await api.open(payer=payer(payer_id)) for _ in range(count)]
    for view in views:
        await api.projected(view["episode_id"], view["version"])
    return views


async def test_the_list_pages_newest_first_with_an_opaque_cursor(api: Api) -> None:
    payer_id = new_id("payer")
    views = await opened_for(api, payer_id, 3)

    first = (await api.call("GET", f"/episodes?payer_id={payer_id}&limit=2", "ops")).json()
    cursor = first["next_cursor"]
    second = (
        await api.call("GET", "/episodes", "ops", params={"payer_id": payer_id, "cursor": cursor})
    ).json()

    listed = [s["episode_id"] for s in first["episodes"] + second["episodes"]]
    assert sorted(listed) == sorted(v["episode_id"] for v in views)
    opened = [s["opened_at"] for s in first["episodes"] + second["episodes"]]
    assert opened == sorted(opened, reverse=True)
    assert second["next_cursor"] is None
    assert all(s["payer_id"] == payer_id for s in first["episodes"])


async def test_the_list_filters_by_state_and_next_deadline(api: Api) -> None:
    payer_id = new_id("payer")
    authorized, waiting = await opened_for(api, payer_id, 2)
    assert (await api.decide(authorized, "A1", **approval())).status_code == 202
    await api.projected(authorized["episode_id"], authorized["version"] + 1)

    def ids(page: dict[str, Any]) -> set[str]:
        return {s["episode_id"] for s in page["episodes"]}

    async def page(**params: str) -> dict[str, Any]:
        response = await api.call("GET", "/episodes", "ops", params={"payer_id": payer_id} | params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert ids(await page(state="authorized")) == {authorized["episode_id"]}
    assert ids(await page(state="auth_requested")) == {waiting["episode_id"]}
    soon = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    assert waiting["episode_id"] in ids(await page(due_before=soon))
    assert ids(await page(due_before="2000-01-01T00:00:00+00:00")) == set()


async def test_list_parameters_that_make_no_sense_are_422(api: Api) -> None:
    for params in (
        {"cursor": "not-a-cursor"},
        {"state": "dreaming"},
        {"limit": "0"},
        {"limit": "many"},
        {"due_before": "2026-11-30T12:00:00"},
    ):
        response = await api.call("GET", "/episodes", "ops", params=params)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["parameter"] in params, response.json()


async def test_events_come_in_order_from_one_and_after_n(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    await api.projected(episode_id, view["version"])

    every = (await api.call("GET", f"/episodes/{episode_id}/events", "ops")).json()
    later = (await api.call("GET", f"/episodes/{episode_id}/events?after=1", "ops")).json()

    assert [e["seq"] for e in every] == list(range(1, view["version"] + 1))
    assert [e["type"] for e in every][:2] == ["episode_opened", "authorization_requested"]
    assert set(every[0]) == {"seq", "type", "at", "data"}
    assert later == every[1:]


async def test_events_of_an_episode_unknown_to_the_event_store_are_404(api: Api) -> None:
    response = await api.call("GET", f"/episodes/{new_id()}/events", "ops")

    assert response.status_code == 404
    assert "event store" in response.json()["detail"]
    negative = await api.call("GET", f"/episodes/{new_id()}/events?after=-1", "ops")
    assert negative.status_code == 422


async def test_the_history_decodes_payloads_for_ops(api: Api) -> None:
    view = await api.open()
    await api.decide(view, "A1", **approval())

    response = await api.call("GET", f"/episodes/{view['episode_id']}/history", "ops")

    assert response.status_code == 200
    history = response.json()
    assert history[0]["type"] == "WorkflowExecutionStarted"
    assert [e["event_id"] for e in history] == list(range(1, len(history) + 1))
    started = history[0]["details"]
    [episode_input] = started["input"]["payloads"]
    assert episode_input["open"]["patient"]["name"] == "Jane Roe"
    updates = [e for e in history if e["type"] == "WorkflowExecutionUpdateAccepted"]
    names = {e["details"]["accepted_request"]["input"]["name"] for e in updates}
    assert "apply_payer_decision" in names


async def test_the_history_follows_continue_as_new_back_to_the_first_run(api: Api) -> None:
    # Three events (opened, requested, pended) are enough for this client's episodes to
    # continue as new.
    episodes = EpisodeClient(
        api.deps.episodes.client, api.stack.settings.task_queue, continue_as_new_after_events=3
    )
    opened, _ = await episodes.open(dated_command(today()))
    view = opened.model_dump(mode="json")
    assert (await api.decide(view, "A4", reason="need the discharge summary")).is_success

    async def two_runs() -> list[dict[str, Any]]:
        response = await api.call("GET", f"/episodes/{view['episode_id']}/history", "ops")
        history: list[dict[str, Any]] = response.json()
        return history if len({e["run_id"] for e in history}) >= 2 else []

    history = await eventually(two_runs)
    starts = [e for e in history if e["type"] == "WorkflowExecutionStarted"]
    assert not starts[0]["details"].get("continued_execution_run_id")
    assert starts[1]["details"]["continued_execution_run_id"] == history[0]["run_id"]
    assert history[-1]["run_id"] != history[0]["run_id"]


async def test_the_history_of_an_unknown_episode_is_404(api: Api) -> None:
    assert (await api.call("GET", f"/episodes/{new_id()}/history", "ops")).status_code == 404


async def test_the_worklist_shows_what_needs_a_person_by_kind_and_payer(api: Api) -> None:
    payer_id = new_id("payer")
    [view] = await opened_for(api, payer_id, 1)
    assert (await api.decide(view, "A4", reason="send the PHP discharge summary")).is_success

    async def items(**params: str) -> list[dict[str, Any]]:
        response = await api.call("GET", "/worklist", "ops", params={"payer_id": payer_id} | params)
        found: list[dict[str, Any]] = response.json()
        return found

    found = await eventually(items)
    assert [(i["episode_id"], i["kind"]) for i in found] == [(view["episode_id"], "info_requested")]
    # delivery_id and delivery_payer_id name an unmatched webhook (None on other items);
    # since and value rank an undated item (None on a dated one).
    assert set(found[0]) == {
        "episode_id",
        "kind",
        "due",
        "detail",
        "delivery_id",
        "delivery_payer_id",
        "since",
        "value",
    }
    assert (found[0]["since"], found[0]["value"]) == (None, None)
    assert await items(kind="claims_held") == []
    invalid = await api.call("GET", "/worklist?kind=everything", "ops")
    assert invalid.status_code == 422


async def test_the_audit_trail_names_who_changed_an_episode_and_how_it_ended(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    cancel = await api.call("POST", f"/episodes/{episode_id}/cancel", "ops", json={"reason": "x"})
    again = await api.call("POST", f"/episodes/{episode_id}/cancel", "intake", json={"reason": "y"})
    await api.call("GET", f"/episodes/{episode_id}/history", "admin")

    entries = (await api.call("GET", f"/audit?episode_id={episode_id}", "ops")).json()

    assert [(e["action"], e["role"], e["status_code"]) for e in entries] == [
        ("episode.history", "admin", 200),
        ("episode.cancel", "intake", 409),
        ("episode.cancel", "ops", 200),
        ("episode.open", "intake", 201),
    ]
    assert entries[1]["outcome"] == "invalid_state" and entries[3]["outcome"] == "created"
    assert entries[2]["request_id"] == cancel.headers["x-request-id"]
    assert entries[1]["request_id"] == again.headers["x-request-id"]
    assert entries[2]["route"] == "POST /episodes/{episode_id}/cancel"
    assert entries[2]["actor"].startswith("token:") and "t-ops" not in entries[2]["actor"]

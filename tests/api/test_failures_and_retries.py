"""A refused payer submission over HTTP: worklist item, ops retry; ops actions keyed for retries."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.timing import trace_number
from tests.support.api_client import Api
from tests.support.intake import approval, new_id, today


async def eventually_listed(
    api: Api, episode_id: str, kind: str, containing: str = ""
) -> dict[str, Any]:
    for _ in range(100):
        response = await api.call("GET", "/worklist", "ops")
        items = [i for i in response.json() if i["episode_id"] == episode_id]
        found = [i for i in items if i["kind"] == kind and containing in i["detail"]]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} worklist item for {episode_id}")


async def test_a_refused_submission_is_a_worklist_item_that_ops_can_retry(api: Api) -> None:
    episode_id = new_id()
    trace = trace_number(episode_id, 1)
    api.stack.ports.payer_gateway.reject_as_invalid(trace_number=trace, reason="unknown member")
    await api.open(episode_id=episode_id)
    item = await eventually_listed(api, episode_id, "submit_request_failed")
    assert "unknown member" in item["detail"] and f"submit_request:{trace}:0" in item["detail"]

    url = f"/episodes/{episode_id}/failures/retry"
    malformed = await api.call("POST", url, "ops", json={"failure_id": ""})
    unknown = await api.call("POST", url, "ops", json={"failure_id": "submit_request:nope:0"})
    intake = await api.call("POST", url, "intake", json={})
    assert [malformed.status_code, unknown.status_code, intake.status_code] == [422, 404, 403]

    retried = await api.call("POST", url, "ops", json={"failure_id": f"submit_request:{trace}:0"})
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"retried": [f"submit_request:{trace}:0"]}
    # The payer still refuses: the retry fails again, with attempt 1.
    again = await eventually_listed(
        api, episode_id, "submit_request_failed", f"submit_request:{trace}:1"
    )
    assert "unknown member" in again["detail"]
    nothing = await api.call("POST", url, "ops", json={"failure_id": f"submit_request:{trace}:0"})
    assert nothing.status_code == 409 and "no failed effect" in nothing.json()["detail"]


async def test_an_action_retried_with_its_idempotency_key_answers_once(api: Api) -> None:
    view = await api.open()
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    url = f"/episodes/{view['episode_id']}/discharge"
    body = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    key = {"Idempotency-Key": f"discharge-{view['episode_id']}"}
    first = await api.call("POST", url, "ops", json=body, headers=key)
    second = await api.call("POST", url, "ops", json=body, headers=key)
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json() == second.json()
    # Without the key a repeat is a new action, which the discharged episode refuses.
    third = await api.call("POST", url, "ops", json=body)
    assert third.status_code == 409


async def test_a_malformed_idempotency_key_is_422_and_changes_nothing(api: Api) -> None:
    view = await api.open()
    url = f"/episodes/{view['episode_id']}/cancel"
    for bad in ("", "has spaces", "x" * 129):
        response = await api.call(
            "POST", url, "ops", json={"reason": "moved"}, headers={"Idempotency-Key": bad}
        )
        assert response.status_code == 422, (bad, response.text)
    assert (await api.view(view["episode_id"]))["version"] == view["version"]

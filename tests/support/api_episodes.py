"""Episodes brought through the API to a state a test starts from: denied, billed, unrouted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from store.schema import TraceRouteRow
from tests.support.api_client import Api
from tests.support.intake import approval, new_id, service_line, today
from tests.support.webhooks import decision_body


async def denied(api: Api) -> dict[str, Any]:
    view = await api.open()
    response = await api.decide(view, "A3", reason_code="0F", reason="not medically necessary")
    assert response.status_code == 202, response.text
    return await api.view(view["episode_id"])


async def billed_episode(api: Api, payer_id: str) -> str:
    """An episode of `payer_id`: approved, one service line recorded and its claim released."""
    view = await api.open(payer={"id": payer_id, "plan_type": "commercial"})
    episode_id = view["episode_id"]
    assert (await api.decide(view, "A1", **approval(units=20))).status_code == 202
    body = {"services": [service_line(charge="150.00")]}
    recorded = await api.call("POST", f"/episodes/{episode_id}/services", "billing", json=body)
    assert recorded.status_code == 200, recorded.text
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    released = await api.call("POST", f"/episodes/{episode_id}/claims", "billing", json=claim)
    assert released.status_code == 201, released.text
    await api.projected(episode_id, (await api.view(episode_id))["version"])
    return episode_id


def forget_routes(api: Api, episode_id: str) -> None:
    """What a read-model rebuild that lost the routes would leave: no trace of the episode."""
    api.deps.read_model.delete_episode(episode_id)
    with api.stack.engine.begin() as connection:
        connection.execute(delete(TraceRouteRow).where(TraceRouteRow.episode_id == episode_id))


async def unmatched_delivery(api: Api, view: dict[str, Any]) -> str:
    await api.traced(view["trace_number"])
    forget_routes(api, view["episode_id"])
    body, content_type = decision_body(view["trace_number"], "A1", **approval())
    delivery = new_id("dlv")
    response = await api.webhook(view["payer"]["id"], body, content_type, delivery=delivery)
    assert response.status_code == 404
    return delivery

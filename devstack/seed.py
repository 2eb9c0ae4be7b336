"""Seeds the demo episodes through the real API with the intake token; safe to run again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from devstack.apiclient import ApiClient, ApiError
from devstack.demo import DEMO_EPISODES, DemoEpisode, demo_payers, episode_body


@dataclass(frozen=True)
class Seeded:
    demo: DemoEpisode
    outcome: str  # "opened", "existing" or the problem the API reported


def seed(client: ApiClient, today: date) -> list[Seeded]:
    return [_open(client, demo, today) for demo in DEMO_EPISODES]


def _open(client: ApiClient, demo: DemoEpisode, today: date) -> Seeded:
    try:
        response = client.call("POST", "/episodes", json=episode_body(demo, today))
    except ApiError as err:
        # 409: opened on an earlier day, so its dates differ from today's body. Reuse it.
        if err.status == 409:
            return Seeded(demo, "existing")
        return Seeded(demo, err.message)
    return Seeded(demo, "opened" if response.status_code == 201 else "existing")


def seed_payers(admin: ApiClient, simulator_url: str, private_key: str) -> dict[str, str]:
    """Registers each demo payer that the directory lacks; an operator's changes are kept."""
    outcomes = {}
    for payer_id, body in demo_payers(simulator_url, private_key).items():
        try:
            admin.call("GET", f"/payers/{payer_id}")
            outcomes[payer_id] = "existing"
            continue
        except ApiError as err:
            if err.status != 404:
                outcomes[payer_id] = err.message
                continue
        try:
            admin.call("PUT", f"/payers/{payer_id}", json=body)
            outcomes[payer_id] = "registered"
        except ApiError as err:
            outcomes[payer_id] = err.message
    return outcomes

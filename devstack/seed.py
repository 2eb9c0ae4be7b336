"""Seeds the demo episodes through the real API with the intake token; safe to run again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from devstack.apiclient import ApiClient, ApiError
from devstack.demo import DEMO_EPISODES, DemoEpisode, episode_body


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

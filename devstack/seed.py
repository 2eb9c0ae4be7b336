"""Seeds the demo episodes through the real API with the intake token; safe to run again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import httpx

from devstack.apiclient import ApiClient, ApiError
from devstack.demo import (
    BILLED_DEMOS,
    DEMO_EPISODES,
    DemoEpisode,
    demo_claim,
    demo_payers,
    demo_service,
    episode_body,
)


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


def bill(
    client: ApiClient,
    today: date,
    *,
    wait_seconds: float = 30.0,
    poll: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Each billed demo episode, once the simulator approved it: today's session recorded and
    a claim released, which the worker's scheduled cut writes as an 837I batch file. Safe to
    run again (same service and claim ids); the outcome per episode is reported, not raised."""
    outcomes: dict[str, str] = {}
    deadline = clock() + wait_seconds
    for demo in BILLED_DEMOS:
        try:
            state = _authorized(client, demo.episode_id, deadline, poll, clock, sleep)
            if state != "authorized":
                outcomes[demo.episode_id] = f"not billed: the episode is {state}"
                continue
            services = {"services": [demo_service(demo, today)]}
            client.call("POST", f"/episodes/{demo.episode_id}/services", json=services)
            claim = client.post(f"/episodes/{demo.episode_id}/claims", demo_claim(demo, today))
            outcomes[demo.episode_id] = f"claim {claim['claim_id']} {claim['status']}"
        except ApiError as err:
            outcomes[demo.episode_id] = err.message
        except httpx.HTTPError as err:
            outcomes[demo.episode_id] = f"not billed: {err}"
    return outcomes


def _authorized(
    client: ApiClient,
    episode_id: str,
    deadline: float,
    poll: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str:
    while True:
        state = str(client.get(f"/episodes/{episode_id}")["state"])
        if state != "auth_requested" or clock() >= deadline:
            return state
        sleep(poll)

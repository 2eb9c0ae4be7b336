"""Fault 4: 1,000 webhook deliveries, 20 % duplicates, shuffled, concurrent, across 50 episodes."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from store.db import make_engine
from tests.faults.ledger import (
    FaultResult,
    Ledger,
    applied_deliveries,
    lost_and_doubled,
    projected_completely,
)
from tests.faults.stack import Delivery, api_stack, open_episodes, signed
from tests.support.api_client import Api
from tests.support.db import migrated_database
from tests.support.intake import approval

FORMATS = ("json", "fhir", "x12")
# What each kind of episode ends as: one decisive answer, or only pends and notices.
END_STATE = {"A1": "authorized", "A3": "denied", "A4": "info_requested"}
# Answers that apply while the request waits and are refused (409) once it was decided.
WHILE_WAITING = ("A4", "CT", "NA")


@dataclass
class Storm:
    """The deliveries to send, in the order they go out, and what each episode must end as."""

    unique: list[Delivery]
    sends: list[Delivery]
    expected: dict[str, str]


def episode_deliveries(
    view: dict[str, Any], kind: str, count: int, rng: random.Random
) -> list[Delivery]:
    payer, trace = view["payer"]["id"], view["trace_number"]
    out = [signed(payer, trace, "A4", rng.choice(FORMATS), reason="notes")]
    if kind == "A1":
        out.append(signed(payer, trace, "A1", rng.choice(FORMATS), **approval()))
    elif kind == "A3":
        out.append(signed(payer, trace, "A3", rng.choice(FORMATS), reason="criteria"))
    while len(out) < count:
        action = rng.choice(WHILE_WAITING)
        out.append(signed(payer, trace, action, rng.choice(FORMATS), reason=f"r{len(out)}"))
    return out


def plan(views: list[dict[str, Any]], deliveries: int, share: float, seed: int) -> Storm:
    """`deliveries` sends in all, `share` of them repeats of earlier ones, shuffled."""
    rng = random.Random(seed)
    repeats = round(deliveries * share)
    per_episode = (deliveries - repeats) // len(views)
    unique: list[Delivery] = []
    expected = {}
    for n, view in enumerate(views):
        kind = ("A1", "A3", "A4")[n % 3]
        unique += episode_deliveries(view, kind, per_episode, rng)
        expected[view["episode_id"]] = END_STATE[kind]
    sends = unique + rng.choices(unique, k=deliveries - len(unique))
    rng.shuffle(sends)
    return Storm(unique, sends, expected)


async def blow(api: Api, storm: Storm, concurrency: int) -> Ledger:
    ledger = Ledger()
    gate = asyncio.Semaphore(concurrency)

    async def one(delivery: Delivery) -> None:
        async with gate:
            ledger.record(delivery.delivery_id, await delivery.send(api.http))

    await asyncio.gather(*(one(d) for d in storm.sends))
    return ledger


async def run(
    client: Client,
    workdir: Path,
    database: str = "sqlite",
    *,
    episodes: int = 50,
    deliveries: int = 1000,
    concurrency: int = 16,
) -> FaultResult:
    began = time.monotonic()
    with migrated_database(database, workdir) as url:
        engine = make_engine(url)
        try:
            async with api_stack(client, engine) as api:
                views = await open_episodes(api, episodes)
                storm = plan(views, deliveries, share=0.2, seed=20261124)
                storming = time.monotonic()
                ledger = await blow(api, storm, concurrency)
                result = await account(api, storm, ledger)
                result.notes.append(f"the storm itself took {time.monotonic() - storming:.1f} s")
        finally:
            engine.dispose()
    result.seconds = time.monotonic() - began
    return result


def answer_problems(ledger: Ledger) -> list[str]:
    """One send of each delivery gets the real answer; every other one repeats it: `duplicate`
    after a 202, the same refusal after a 4xx. Concurrent sends may come back in any order."""
    problems = []
    for delivery_id, seen in ledger.answers.items():
        if all(code == 202 for code, _ in seen):
            firsts = [status for _, status in seen if status != "duplicate"]
            if len(firsts) != 1:
                problems.append(f"{delivery_id}: answered {seen}")
        elif len(set(seen)) != 1:
            problems.append(f"{delivery_id}: answered {seen}")
    return problems


async def account(api: Api, storm: Storm, ledger: Ledger) -> FaultResult:
    views = {ep: await api.view(ep) for ep in storm.expected}
    versions = {ep: view["version"] for ep, view in views.items()}
    gaps = await projected_completely(api.deps.read_model, versions, timeout=60)
    applied = await asyncio.to_thread(applied_deliveries, api.deps.read_model, list(views))
    lost, doubled = lost_and_doubled(ledger, applied)
    states = [f"{ep} is {views[ep]['state']}, not {want}" for ep, want in storm.expected.items()
              if views[ep]["state"] != want]  # fmt: skip
    refused = sum(1 for seen in ledger.answers.values() if seen[0][0] == 409)
    notes = [
        f"{len(applied)} deliveries applied (one event each), {refused} refused as stale "
        f"(409: the request was already decided), {ledger.count('duplicate')} answered "
        "duplicate; every episode in the state its decisions imply",
    ]
    load = {"episodes": len(views), "deliveries": len(storm.sends),
            "duplicates": len(storm.sends) - len(storm.unique)}  # fmt: skip
    fault = "1,000 webhooks: duplicates, shuffled, concurrent"
    problems = gaps + states + answer_problems(ledger)
    return FaultResult(fault, load, lost, doubled, 0.0, notes, problems)

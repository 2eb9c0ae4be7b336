"""Fault 2: the Temporal server stops mid-episodes and restarts on its file; nothing is lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from store.db import make_engine
from tests.faults.ledger import (
    FaultResult,
    Ledger,
    applied_deliveries,
    lost_and_doubled,
    projected_completely,
)
from tests.faults.servers import TemporalServer
from tests.faults.stack import Delivery, api_stack, open_episodes, signed
from tests.support.api_client import Api
from tests.support.db import migrated_database
from tests.support.intake import approval, new_id, service_line, today
from tests.support.polling import eventually

# Short, so a webhook that cannot reach Temporal is answered `queued` at once.
API_SETTINGS: dict[str, Any] = {"STEPDOWN_TEMPORAL_TIMEOUT": 3, "STEPDOWN_REDELIVERY_INTERVAL": 0.3}


async def send(api: Api, ledger: Ledger, delivery: Delivery) -> str:
    return ledger.record(delivery.delivery_id, await delivery.send(api.http))


async def close(api: Api, view: dict[str, Any]) -> dict[str, Any]:
    """Services, a claim and discharge: the episode carries on to `closed`."""
    ep = f"/episodes/{view['episode_id']}"
    lines = {"services": [service_line()]}
    assert (await api.call("POST", f"{ep}/services", "billing", json=lines)).is_success
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    assert (await api.call("POST", f"{ep}/claims", "billing", json=claim)).is_success
    done = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    closed = await api.call("POST", f"{ep}/discharge", "intake", json=done)
    assert closed.status_code == 200, closed.text
    result: dict[str, Any] = closed.json()
    return result


async def inbox_settled(api: Api, deliveries: list[str]) -> bool:
    entries = [await asyncio.to_thread(api.deps.inbox.get, d) for d in deliveries]
    return all(e is not None and e.status == "applied" for e in entries)


async def outage(server: TemporalServer, api: Api, ledger: Ledger, late: list[Delivery]) -> None:
    """Stops the server, sends `late` (each once, then again), and restarts the server."""
    server.stop()
    for delivery in late:
        await send(api, ledger, delivery)
    for delivery in late[:2]:
        await send(api, ledger, delivery)  # a payer retrying while Temporal is away
    await server.start()


async def run(workdir: Path, database: str = "sqlite", episodes: int = 6) -> FaultResult:
    began = time.monotonic()
    server = TemporalServer(workdir / "temporal.db")
    await server.start()
    try:
        with migrated_database(database, workdir) as url:
            engine = make_engine(url)
            try:
                client = await server.client()
                async with api_stack(client, engine, redelivery=True, **API_SETTINGS) as api:
                    return await _scenario(server, api, episodes, began)
            finally:
                engine.dispose()
    finally:
        server.stop()


async def _scenario(server: TemporalServer, api: Api, episodes: int, began: float) -> FaultResult:
    ledger = Ledger()
    views = await open_episodes(api, episodes)
    decisions = [signed(v["payer"]["id"], v["trace_number"], "A1", **approval()) for v in views]
    half = episodes // 2
    for delivery in decisions[:half]:
        assert await send(api, ledger, delivery) == "applied"
    await outage(server, api, ledger, decisions[half:])
    queued = [d.delivery_id for d in decisions[half:]]
    await eventually(lambda: inbox_settled(api, queued), timeout=60)
    closed = await asyncio.gather(*(close(api, v) for v in views))
    versions = {c["episode_id"]: c["version"] for c in closed}
    gaps = await projected_completely(api.deps.read_model, versions, timeout=30)
    applied = await asyncio.to_thread(applied_deliveries, api.deps.read_model, list(versions))
    lost, doubled = lost_and_doubled(ledger, applied)
    problems = gaps + [
        f"{c['episode_id']} ended {c['state']}" for c in closed if c["state"] != "closed"
    ]
    notes = [
        f"answered while Temporal was down: {ledger.count('queued')} queued, "
        f"{ledger.count('duplicate')} duplicate; all applied by the redelivery loop after the "
        "restart; every episode closed"
    ]
    load = {"episodes": episodes, "deliveries": sum(len(a) for a in ledger.answers.values()),
            "server restarts": 1}  # fmt: skip
    fault = "Temporal dev server stopped and restarted on its file"
    return FaultResult(fault, load, lost, doubled, time.monotonic() - began, notes, problems)

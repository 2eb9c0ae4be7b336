"""Fault 3: PostgreSQL unreachable for a while (a proxy cut): webhooks 503, projections retry."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from sqlalchemy.engine import make_url
from temporalio.client import Client

from store.db import make_engine
from store.phi import cipher_from_settings
from tests.faults.ledger import (
    FaultResult,
    Ledger,
    applied_deliveries,
    lost_and_doubled,
    projected_completely,
)
from tests.faults.proxy import TcpProxy, tcp_proxy
from tests.faults.record import record_problems
from tests.faults.stack import Delivery, api_stack, open_episodes, signed
from tests.support.api_client import Api
from tests.support.db import postgres_database
from tests.support.intake import approval

RETRY_EVERY = 0.3
PAYER_GIVES_UP = 120.0
API_SETTINGS: dict[str, Any] = {"STEPDOWN_TEMPORAL_TIMEOUT": 10}


class AuditSpill(logging.Handler):
    """Collects the audit entries the API could not store and logged instead."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("audit append failed; entry"):
            assert isinstance(record.args, tuple)
            self.entries.append(json.loads(str(record.args[0])))

    def changes(self) -> list[dict[str, Any]]:
        """Spilled entries of requests that changed something (not the 503s)."""
        return [e for e in self.entries if e["status_code"] < 500]


async def payer(api: Api, ledger: Ledger, delivery: Delivery) -> None:
    """Sends until the API takes the delivery, as a payer does after a 503; gives up (and
    fails the scenario) after PAYER_GIVES_UP seconds instead of hanging it."""
    deadline = time.monotonic() + PAYER_GIVES_UP
    while True:
        status = ledger.record(delivery.delivery_id, await delivery.send(api.http))
        if status != "http 503":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{delivery.delivery_id}: still 503 after {PAYER_GIVES_UP} s")
        await asyncio.sleep(RETRY_EVERY)


async def during_the_cut(api: Api, ledger: Ledger, decisions: list[Delivery], cancel: str) -> Any:
    """Payers keep retrying; intake and ops go on, since they need Temporal, not the database."""
    payers = [asyncio.create_task(payer(api, ledger, d)) for d in decisions]
    opened = [await api.open() for _ in range(3)]
    cancelled = await api.call("POST", f"/episodes/{cancel}/cancel", "ops", json={"reason": "x"})
    assert cancelled.status_code == 200, cancelled.text
    return payers, opened


async def outage(
    api: Api, proxy: TcpProxy, views: list[dict[str, Any]], seconds: float
) -> tuple[Ledger, dict[str, str]]:
    """Cuts the database for `seconds`; returns the answers and each episode's expected state."""
    ledger = Ledger()
    half = len(views) // 2
    actions = ["A1" if n % 2 else "A3" for n in range(half)]
    decisions = [
        signed(v["payer"]["id"], v["trace_number"], a, **(approval() if a == "A1" else {}))
        for v, a in zip(views[:half], actions, strict=True)
    ]
    proxy.cut()
    payers, opened = await during_the_cut(api, ledger, decisions, views[-1]["episode_id"])
    await asyncio.sleep(seconds)
    proxy.restore()
    await asyncio.gather(*payers)
    for view in opened:
        await api.traced(view["trace_number"])
        await payer(api, ledger, signed(view["payer"]["id"], view["trace_number"], "A3"))
    expected = {v["episode_id"]: "auth_requested" for v in views}
    expected |= {v["episode_id"]: "denied" for v in opened}
    expected |= {v["episode_id"]: {"A1": "authorized", "A3": "denied"}[a]
                 for v, a in zip(views[:half], actions, strict=True)}  # fmt: skip
    return ledger, expected | {views[-1]["episode_id"]: "cancelled"}


async def run(client: Client, episodes: int = 8, seconds: float = 4.0) -> FaultResult:
    began = time.monotonic()
    spill = AuditSpill()
    logging.getLogger("stepdown.api").addHandler(spill)
    try:
        with postgres_database() as url:
            real = make_url(url)
            with tcp_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
                proxied = real.set(host="127.0.0.1", port=proxy.port)
                engine = make_engine(proxied, connect_args={"connect_timeout": 2})
                try:
                    async with api_stack(client, engine, **API_SETTINGS) as api:
                        views = await open_episodes(api, episodes)
                        ledger, expected = await outage(api, proxy, views, seconds)
                        result = await account(api, ledger, expected, spill)
                finally:
                    engine.dispose()
    finally:
        logging.getLogger("stepdown.api").removeHandler(spill)
    result.load["outage seconds"] = round(seconds)
    result.seconds = time.monotonic() - began
    return result


async def account(
    api: Api, ledger: Ledger, expected: dict[str, str], spill: AuditSpill
) -> FaultResult:
    views = {ep: await api.view(ep) for ep in expected}
    versions = {ep: view["version"] for ep, view in views.items()}
    gaps = await projected_completely(api.deps.read_model, versions, timeout=40)
    applied = await asyncio.to_thread(applied_deliveries, api.deps.read_model, list(expected))
    lost, doubled = lost_and_doubled(ledger, applied)
    states = [f"{ep} is {views[ep]['state']}, not {want}" for ep, want in expected.items()
              if views[ep]["state"] != want]  # fmt: skip
    answered = sum(len(seen) for seen in ledger.answers.values())
    notes = [
        f"{ledger.count('http 503')} webhook answers were 503 during the cut, then "
        f"{len(ledger.acknowledged())} deliveries acknowledged, each applied once",
        f"read model caught up with every event of {len(versions)} episodes, no seq gaps",
        f"{len(spill.changes())} changes made while the database was away (intake, cancel) "
        f"kept their audit entry in the error log; {len(spill.entries)} entries spilled in all",
    ]
    # The event store came through the cut intact: chains, seq runs, folds = live workflows.
    cipher = cipher_from_settings(api.stack.settings)  # the stack's worker seals with its keys
    record = await record_problems(
        api.deps.episodes.client, api.stack.engine, sorted(expected), cipher
    )
    if not record:
        notes.append(f"events verify passed for all {len(expected)} episodes")
    load = {"episodes": len(expected), "deliveries": answered}
    fault = "PostgreSQL unreachable (TCP proxy cut)"
    return FaultResult(fault, load, lost, doubled, 0.0, notes, gaps + states + record)

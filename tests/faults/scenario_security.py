"""Fault 6: an attacker's and an unlucky payer's deliveries, and input at the calendar's edge.

Captured signed webhooks re-sent under new delivery ids (whole, and with their v1 values
trimmed); decisions that arrive before their episode is known (some retried by the payer,
the rest recovered by the redelivery loop); delivery ids reused with another body; and bad
input at every edge the API has (dates, cursors, units, bodies before authentication).
Lost: an unmatched delivery never applied; doubled: a replay applied again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.redelivery import Redelivery
from domain.timing import trace_number
from store.db import make_engine
from tests.faults.ledger import FaultResult
from tests.faults.stack import api_stack
from tests.support.api_client import Api
from tests.support.db import migrated_database
from tests.support.intake import approval, intake_body, new_id, service_line
from tests.support.webhooks import decision_body
from tests.support.webhooks import signature as sign_now

FAULT = "Security: replays, unmatched deliveries, bad input at the edges"
LATEST, EARLIEST = "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"


@dataclass
class Tally:
    replays_tried: int = 0
    replays_refused: int = 0
    replays_applied: int = 0
    unmatched: int = 0
    recovered: int = 0
    reused_tried: int = 0
    reused_refused: int = 0
    bad_tried: int = 0
    bad_accepted: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def saw(self, response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code >= 500:
            self.errors += 1
            self.problems.append(f"{what}: {response.status_code} {response.text[:200]}")
        return response


async def count_of(api: Api, episode_id: str, event_type: str) -> int:
    answer = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
    return [e["type"] for e in answer.json()].count(event_type)


async def replays(api: Api, tally: Tally, episodes: int) -> None:
    """A pend captured in flight, replayed after the information was sent."""
    for _ in range(episodes):
        view = await api.open()
        await api.traced(view["trace_number"])
        body, content_type = decision_body(view["trace_number"], "A4", reason="notes")
        captured = sign_now(body)
        first = await api.webhook("acme-medicaid", body, content_type, signed=captured)
        tally.saw(first, "first pend")
        path = f"/episodes/{view['episode_id']}/information"
        await api.call("POST", path, "intake", json={"note": "sent"})
        version = (await api.view(view["episode_id"]))["version"]
        # The same message with a junk v1 added: still the same signed message.
        padded = captured + ",v1=00"
        for header in (captured, captured, padded):
            tally.replays_tried += 1
            answer = tally.saw(
                await api.webhook("acme-medicaid", body, content_type, signed=header), "replay"
            )
            if answer.status_code == 202 and answer.json()["status"] == "duplicate":
                tally.replays_refused += 1
        await api.projected(view["episode_id"], version)
        after = (await api.view(view["episode_id"]))["version"]
        pends = await count_of(api, view["episode_id"], "information_requested")
        tally.replays_applied += (after != version) + max(0, pends - 1)


async def unmatched(api: Api, tally: Tally, count: int) -> None:
    """Decisions that arrive before their episode is known; half are retried by the payer."""
    sent: list[tuple[str, str, bytes, str]] = []
    for _ in range(count):
        episode_id = new_id()
        body, content_type = decision_body(trace_number(episode_id, 1), "A1", **approval())
        delivery = new_id("dlv")
        answer = tally.saw(
            await api.webhook("acme-medicaid", body, content_type, delivery=delivery), "early"
        )
        tally.unmatched += answer.status_code == 404
        sent.append((episode_id, delivery, body, content_type))
    for episode_id, *_ in sent:
        await api.open(episode_id=episode_id)
    for _, delivery, body, content_type in sent[::2]:
        tally.saw(
            await api.webhook("acme-medicaid", body, content_type, delivery=delivery), "retry"
        )
    await Redelivery(api.deps, timeout=30, grace=timedelta(seconds=0)).run_once()
    for episode_id, *_ in sent:
        tally.recovered += (await api.view(episode_id))["state"] == "authorized"


async def reused_ids(api: Api, tally: Tally, count: int) -> None:
    for _ in range(count):
        view = await api.open()
        await api.traced(view["trace_number"])
        delivery = new_id("dlv")
        pend, content_type = decision_body(view["trace_number"], "A4", reason="notes")
        deny, _ = decision_body(view["trace_number"], "A3")
        await api.webhook("acme-medicaid", pend, content_type, delivery=delivery)
        tally.reused_tried += 1
        answer = tally.saw(
            await api.webhook("acme-medicaid", deny, content_type, delivery=delivery), "reused"
        )
        tally.reused_refused += answer.status_code == 409


def cursor(at: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, "ep-x"]).encode()).decode()


def bad_intakes() -> list[dict[str, Any]]:
    cases = []
    for path, value in [
        (("patient", "birth_date"), "0001-01-01"),
        (("requested", "start"), "9999-12-31"),
        (("prior_authorization", "end"), "9999-12-31"),
        (("php_last_claim_through",), "1850-01-01"),
    ]:
        body = intake_body()
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        cases.append(body)
    return cases


async def bad_inputs(api: Api, tally: Tally) -> None:
    view = await api.open()
    await api.traced(view["trace_number"])
    ep = f"/episodes/{view['episode_id']}"
    far = "9999-12-31"
    ends = (LATEST, EARLIEST)
    calls: list[tuple[str, str, str | None, dict[str, Any]]] = [
        *[("GET", "/episodes", "ops", {"params": {"due_before": a}}) for a in ends],
        *[("GET", "/episodes", "ops", {"params": {"cursor": cursor(a)}}) for a in ends],
        ("GET", "/episodes", "ops", {"params": {"cursor": "////"}}),
        *[("POST", "/episodes", "intake", {"json": body}) for body in bad_intakes()],
        ("POST", f"{ep}/services", "billing", {"json": {"services": [service_line(date=far)]}}),
        ("POST", f"{ep}/claims", "billing", {"json": {"claim_id": "C-1", "through": far}}),
        ("POST", f"{ep}/p2p", "ops", {"json": {"action": "schedule", "at": LATEST}}),
        ("POST", "/episodes", None, {"content": b"{not json"}),
        ("POST", f"{ep}/cancel", None, {"content": b'{"x": 1}'}),
        ("POST", "/episodes/search", None, {"content": b"garbage"}),
    ]  # fmt: skip
    for method, path, role, kwargs in calls:
        tally.bad_tried += 1
        answer = tally.saw(await api.call(method, path, role, **kwargs), f"{method} {path}")
        tally.bad_accepted += answer.status_code < 400
    for fields in ({"end": "2999-01-01"}, {"start": "1850-01-01"}, {"units": 10**6}):
        decision = approval() | fields
        body, content_type = decision_body(view["trace_number"], "A2", **decision)
        tally.bad_tried += 1
        answer = tally.saw(await api.webhook("acme-medicaid", body, content_type), "decision")
        tally.bad_accepted += answer.status_code < 400
    if (await api.view(view["episode_id"]))["version"] != view["version"]:
        tally.problems.append("a refused input changed the episode")


def result(tally: Tally) -> FaultResult:
    load = {
        "replays tried": tally.replays_tried,
        "replays refused": tally.replays_refused,
        "unmatched deliveries": tally.unmatched,
        "unmatched deliveries recovered": tally.recovered,
        "reused delivery ids refused (409)": tally.reused_refused,
        "bad inputs tried": tally.bad_tried,
        "bad inputs accepted": tally.bad_accepted,
        "answers 500": tally.errors,
    }
    problems = list(tally.problems)
    if tally.replays_refused != tally.replays_tried:
        problems.append(f"{tally.replays_tried - tally.replays_refused} replays not refused")
    if tally.reused_refused != tally.reused_tried:
        problems.append(f"{tally.reused_tried - tally.reused_refused} reused ids not refused")
    if tally.bad_accepted:
        problems.append(f"{tally.bad_accepted} bad inputs accepted")
    notes = [
        "replays: a captured pend re-sent twice whole and once with a junk v1 added, after "
        "the information was sent; unmatched: decisions sent before their episode opened, "
        "half retried by the payer, the rest applied by one redelivery round",
    ]
    lost = tally.unmatched - tally.recovered
    return FaultResult(FAULT, load, lost, tally.replays_applied, 0.0, notes, problems)


async def run(
    client: Client, workdir: Path, database: str = "sqlite", scale: int = 4
) -> FaultResult:
    began = time.monotonic()
    tally = Tally()
    with migrated_database(database, workdir) as url:
        engine = make_engine(url)
        try:
            async with api_stack(client, engine) as api:
                await asyncio.wait_for(replays(api, tally, scale), 600)
                await unmatched(api, tally, 2 * scale)
                await reused_ids(api, tally, scale)
                await bad_inputs(api, tally)
        finally:
            engine.dispose()
    outcome = result(tally)
    outcome.seconds = time.monotonic() - began
    return outcome

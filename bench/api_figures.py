"""Figures 3 and 4 through the HTTP API: signed payer decisions and claim release."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx

from bench.api_setup import authorized_with_services, opened_and_projected
from bench.drive import LoopRun, in_sequence, open_loop
from bench.episodes import LIFECYCLE_DAYS
from bench.phases import MIN_SAMPLES, Phases, Sizes
from bench.procs import DevServer, Process, free_port, spawn
from bench.report import Results, Row
from bench.stats import latency_ms
from domain.model import PayerDecision
from domain.timing import trace_number
from payers.formats.canonical import canonical_body
from payers.signature import sign
from settings import DEV_WEBHOOK_SECRET

PAYER = "acme-medicaid"
OPS, BILLING = {"Authorization": "Bearer dev-ops"}, {"Authorization": "Bearer dev-billing"}


def available() -> bool:
    """The API is built by another issue; its figures run once `api.app` exists."""
    return importlib.util.find_spec("api.app") is not None


async def start_api(
    server: DevServer, queue: str, database_url: str, workdir: Path
) -> tuple[Process, str]:
    """uvicorn serving `api.app` in dev mode against `server`; the process and its URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        STEPDOWN_DEV="1",
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=server.address,
        STEPDOWN_TASK_QUEUE=queue,
        STEPDOWN_API_PORT=str(port),
    )
    args = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = spawn([*args, "--no-access-log"], workdir / f"api-{port}.log", env)
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as http:
        while True:
            try:
                if (await http.get("/healthz")).status_code == 200:
                    server.workers.append(process)  # stopped with the server, whatever happens
                    return process, url
            except httpx.TransportError:
                pass
            if process.popen.poll() is not None or time.monotonic() > deadline:
                process.stop()
                raise RuntimeError(f"the API did not start; see {process.log}")
            await asyncio.sleep(0.2)


async def decide(http: httpx.AsyncClient, episode_id: str, start: datetime) -> None:
    """POST a signed A1, then GET the episode until the decision shows."""
    decision = PayerDecision(
        trace_number=trace_number(episode_id, 1),
        action="A1",
        authorization_number=f"AUTH-{episode_id[-8:]}",
        start=start.date(),
        end=start.date() + timedelta(days=40),
        units=20,
    )
    body = canonical_body(decision)
    headers = {
        "Content-Type": "application/json",
        "Stepdown-Signature": sign(DEV_WEBHOOK_SECRET, body, int(time.time())),
        "Stepdown-Delivery": f"bench-{uuid.uuid4().hex}",
    }
    posted = await http.post(f"/webhooks/payers/{PAYER}", content=body, headers=headers)
    if posted.status_code != 202:
        raise RuntimeError(f"webhook answered {posted.status_code}: {posted.text[:300]}")
    while True:
        view = await http.get(f"/episodes/{episode_id}", headers=OPS)
        if view.status_code == 200 and view.json()["state"] == "authorized":
            return
        await asyncio.sleep(0.005)


async def release(http: httpx.AsyncClient, episode_id: str, claim_id: str, through: str) -> None:
    body = {"claim_id": claim_id, "through": through}
    answer = await http.post(f"/episodes/{episode_id}/claims", json=body, headers=BILLING)
    if answer.status_code != 201:
        raise RuntimeError(f"claim answered {answer.status_code}: {answer.text[:300]}")


async def run(
    server: DevServer,
    mode: str,
    queue: str,
    database_url: str,
    sizes: Sizes,
    workdir: Path,
    phases: Phases,
    out: Results,
) -> None:
    api, url = await start_api(server, queue, database_url, workdir)
    database = Path(database_url.removeprefix("sqlite:///"))
    try:
        # An open loop past what the stack sustains queues requests; let them queue here.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            decided = await _decisions(server, mode, queue, database, sizes, phases, out, http)
            await _claims(server, mode, queue, decided, sizes, phases, out, http)
    finally:
        api.stop()
        server.workers.remove(api)


async def _decisions(
    server: DevServer,
    mode: str,
    queue: str,
    database: Path,
    sizes: Sizes,
    phases: Phases,
    out: Results,
    http: httpx.AsyncClient,
) -> list[str]:
    counts = [max(MIN_SAMPLES, int(rate * sizes.rate_seconds)) for rate in sizes.rates]
    with phases.phase(f"[{mode}] 3 open episodes for decisions", sum(counts)) as tick:
        ids = await opened_and_projected(server.client, queue, database, sum(counts), tick)
    start = datetime.now(UTC) - timedelta(days=LIFECYCLE_DAYS)
    found, offset = {}, 0
    for rate, count in zip(sizes.rates, counts, strict=True):
        batch = ids[offset : offset + count]
        offset += count
        with phases.phase(f"[{mode}] 3 webhook decisions at {rate:g}/s", count) as tick:
            run = await open_loop(lambda i, b=batch: decide(http, b[i], start), rate, count, tick)
        found[f"{rate:g}/s"] = _checked(run)
        base = out.details[mode]["noop_update_ms"][f"{rate:g}/s"]
        out.add(
            Row("3", f"decision p99 at {rate:g}/s", mode, found[f"{rate:g}/s"]["p99"], "ms",
                base["p99"], f"no-op update p99 at {rate:g}/s", "at_most", 3.0),
            Row("3", f"decision p50 at {rate:g}/s", mode, found[f"{rate:g}/s"]["p50"], "ms",
                base["p50"], f"no-op update p50 at {rate:g}/s"),
        )  # fmt: skip
    out.details[mode]["decision_ms"] = found
    return ids


def _checked(run: LoopRun) -> dict[str, float]:
    """Latencies of the answered requests; failures (an overloaded stack) are counted."""
    found = latency_ms(run.latencies)
    found.update(errors=float(len(run.errors)), achieved_per_s=run.per_second)
    return found


async def _claims(
    server: DevServer,
    mode: str,
    queue: str,
    decided: list[str],
    sizes: Sizes,
    phases: Phases,
    out: Results,
    http: httpx.AsyncClient,
) -> None:
    episodes = decided[: max(1, sizes.lag_episodes * 2 + 2)]
    per = sizes.claims_per_episode
    with phases.phase(f"[{mode}] 4 record services for claims", len(episodes)) as tick:
        pending = await authorized_with_services(server.client, episodes, per, tick)
    with phases.phase(f"[{mode}] 4 claim release, one at a time", len(pending)) as tick:
        ops = [partial(release, http, *claim) for claim in pending]
        run = await in_sequence(ops, tick)
    claims = _checked(run)
    base = out.details[mode]["noop_update_ms"]["sequential"]
    out.details[mode]["claim_ms"] = claims
    out.add(
        Row("4", "claim gate p99", mode, claims["p99"], "ms", base["p99"],
            "no-op update p99", "at_most", 2.0),
        Row("4", "claim gate p50", mode, claims["p50"], "ms", base["p50"], "no-op update p50"),
    )  # fmt: skip

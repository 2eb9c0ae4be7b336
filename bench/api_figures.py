"""The API process the bench drives, and its two operations: a signed payer decision and a
claim release (figures 3 and 4, bench/curves.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from bench.procs import DevServer, Process, free_port, spawn
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
    # An answer that carries the episode's view already tells the outcome: no second trip.
    view_in_answer = posted.json().get("episode")
    if isinstance(view_in_answer, dict) and view_in_answer.get("state") == "authorized":
        return
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

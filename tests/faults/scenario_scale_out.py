"""Scale-out: 2 API replicas behind a round-robin balancer, 3 workers, one dev server and the
PostgreSQL read model, all separate processes; one worker and one API replica are SIGKILLed
mid-load, and every request the system accepted must be applied exactly once.

The load is the life of an episode over HTTP: intake, the payer's approval (signed webhook),
a service, a claim and the discharge that closes it. A client retries what got no answer
(a dropped connection, a 502/503) with the same identity — the same episode id, delivery id,
service id, claim id and Idempotency-Key — as a real client would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import temporalio.api.enums.v1 as enums
import temporalio.api.taskqueue.v1 as taskqueue
import temporalio.api.workflowservice.v1 as service
from temporalio.client import Client

from settings import Settings
from store.db import make_engine
from store.phi import cipher_from_settings
from store.sql import SqlReadModel
from store.sql_payers import SqlPayerDirectory
from tests.faults.ledger import ACKNOWLEDGED, FaultResult, projected_completely
from tests.faults.round_robin import RoundRobin, round_robin
from tests.faults.stack import signed
from tests.support.api_stack import SEEDED_PAYERS, TOKENS, register_payers
from tests.support.db import postgres_database
from tests.support.intake import approval, intake_body, new_id, service_line, today
from tests.support.procs import ROOT, free_port, stop_process
from tests.support.webhooks import SECRETS

FAULT = "2 API replicas and 3 workers; one of each SIGKILLed mid-load"
WORKERS, REPLICAS = 3, 2
RETRYABLE = {502, 503, 504}
UVICORN = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
UVICORN += ["--host", "127.0.0.1", "--log-level", "warning"]
GIVE_UP = 180.0  # seconds one request may keep being retried before the scenario fails


# The replicas and workers run in dev mode: they seal PHI with the dev payload key.
DEV_CIPHER = cipher_from_settings(Settings(STEPDOWN_DEV=True))


def process_env(database_url: str, address: str, queue: str) -> dict[str, str]:
    """The settings every replica and worker reads, and nothing of this process's own."""
    mine = ("STEPDOWN_", "TEMPORAL_", "DATABASE_URL")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(mine)}
    return inherited | {
        "PYTHONPATH": str(ROOT),
        # Dev mode for the dev payload key the tests' clients share; tokens are the tests'.
        "STEPDOWN_DEV": "1",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": address,
        "STEPDOWN_TASK_QUEUE": queue,
        "STEPDOWN_API_TOKENS": json.dumps(TOKENS),
        "STEPDOWN_WEBHOOK_SECRETS": json.dumps(SECRETS),
        "STEPDOWN_TEMPORAL_TIMEOUT": "10",
        "STEPDOWN_REDELIVERY_INTERVAL": "0.5",
    }


def launch(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=sink)


async def until(what: str, ready: Callable[[], Awaitable[bool]], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not await ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready after {timeout:.0f} s")
        await asyncio.sleep(0.25)


async def polling(client: Client, queue: str, pids: list[int]) -> bool:
    """Whether a worker process with each pid polls `queue` (identity `<pid>@<host>`)."""
    request = service.DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=taskqueue.TaskQueue(name=queue),
        task_queue_type=enums.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    answer = await client.workflow_service.describe_task_queue(request)
    seen = {p.identity.split("@", 1)[0] for p in answer.pollers}
    return {str(pid) for pid in pids} <= seen


async def healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Load:
    """The client side: retries, progress, and what the system acknowledged."""

    http: httpx.AsyncClient
    requests: int = 0
    retries: int = 0
    after_kill: int = 0
    killed: bool = False
    authorized: int = 0
    progressed: asyncio.Event = field(default_factory=asyncio.Event)
    # kind -> the identities (episode, delivery, service, claim ids) answered with success.
    acknowledged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)

    async def send(self, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        deadline = time.monotonic() + GIVE_UP
        while True:
            self.requests += 1
            try:
                response = await call()
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                self.after_kill += self.killed
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer after {GIVE_UP:.0f} s of retries")
            self.retries += 1
            await asyncio.sleep(0.3)

    async def call(
        self, method: str, path: str, role: str, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        auth = {"Authorization": f"Bearer t-{role}"} | (headers or {})
        return await self.send(lambda: self.http.request(method, path, json=body, headers=auth))

    def expect(self, kind: str, key: str, response: httpx.Response, *statuses: int) -> bool:
        if response.status_code in statuses:
            self.acknowledged[kind].append(key)
            return True
        self.problems.append(f"{kind} {key}: {response.status_code} {response.text[:200]}")
        return False


async def state(load: Load, episode_id: str, wanted: str, timeout: float = 90) -> None:
    async def reached() -> bool:
        view = await load.call("GET", f"/episodes/{episode_id}", "ops", None)
        return view.status_code == 200 and view.json()["state"] == wanted

    await until(f"{episode_id} {wanted}", reached, timeout)


async def traced(read_model: SqlReadModel, trace_number: str) -> None:
    async def found() -> bool:
        return await asyncio.to_thread(read_model.episode_for_trace, trace_number) is not None

    await until(f"trace {trace_number}", found)


async def episode(load: Load, read_model: SqlReadModel, threshold: int) -> str:
    """One episode from intake to closed; returns its id."""
    body = intake_body()
    episode_id = body["episode_id"]
    opened = await load.call("POST", "/episodes", "intake", body)
    if not load.expect("open", episode_id, opened, 200, 201):
        return episode_id
    view = opened.json()
    path = f"/episodes/{episode_id}"

    await traced(read_model, view["trace_number"])  # a payer answers once the request is out
    delivery = signed(view["payer"]["id"], view["trace_number"], "A1", **approval())
    answer = await load.send(lambda: delivery.send(load.http))
    acknowledged = answer.status_code == 202 and answer.json()["status"] in ACKNOWLEDGED
    load.expect("decision", delivery.delivery_id, answer, *([202] if acknowledged else []))
    await state(load, episode_id, "authorized")  # a `queued` answer is applied by redelivery
    load.authorized += 1
    if load.authorized >= threshold:
        load.progressed.set()

    line = service_line()
    recorded = await load.call("POST", f"{path}/services", "billing", {"services": [line]})
    ok = recorded.status_code == 200
    ok = ok and line["service_id"] in recorded.json()["accepted"] + recorded.json()["duplicates"]
    load.expect("service", line["service_id"], recorded, *([200] if ok else []))

    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    released = await load.call("POST", f"{path}/claims", "billing", claim)
    load.expect("claim", claim["claim_id"], released, 201)

    discharge = {"date": today().isoformat(), "patient_status": "01", "disposition": "completed"}
    key = {"Idempotency-Key": new_id("discharge")}
    closed = await load.call("POST", f"{path}/discharge", "intake", discharge, key)
    load.expect("discharge", episode_id, closed, 200)
    return episode_id


def applied(read_model: SqlReadModel, episode_ids: list[str]) -> dict[str, Counter[str]]:
    """How often each acknowledged request took effect, read from the projected events."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for episode_id in episode_ids:
        for event in read_model.events(episode_id):
            data = event.data
            if event.type == "episode_opened":
                counts["open"][episode_id] += 1
            elif event.type == "discharged":
                counts["discharge"][episode_id] += 1
            elif event.type == "services_recorded":
                counts["service"].update(s["service_id"] for s in data["services"])
            elif event.type == "claim_released":
                counts["claim"][data["claim_id"]] += 1
            if data.get("delivery_id"):
                counts["decision"][data["delivery_id"]] += 1
    return counts


@dataclass
class Cluster:
    workers: list[subprocess.Popen[bytes]]
    replicas: list[subprocess.Popen[bytes]]
    ports: list[int]


async def start_cluster(client: Client, env: dict[str, str], workdir: Path) -> Cluster:
    queue = env["STEPDOWN_TASK_QUEUE"]
    workers = [
        launch([sys.executable, "-m", "worker"], env, workdir / f"worker-{n}.log")
        for n in range(WORKERS)
    ]
    ports = [free_port() for _ in range(REPLICAS)]
    replicas = [
        launch(
            [*UVICORN, "--port", str(port)],
            env,
            workdir / f"api-{port}.log",
        )
        for port in ports
    ]
    cluster = Cluster(workers, replicas, ports)
    try:
        await until("3 workers", lambda: polling(client, queue, [w.pid for w in workers]))
        for port in ports:
            await until(f"API :{port}", lambda port=port: healthy(port))
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for proc in [*cluster.replicas, *cluster.workers]:
        stop_process(proc, grace=35)


async def drive(
    cluster: Cluster, balancer: RoundRobin, url: str, episodes: int
) -> tuple[Load, float, tuple[int, int, list[str]]]:
    """The load, with the kills when a third of the episodes are authorized; its accounting."""
    engine = make_engine(url)
    read_model = SqlReadModel(engine, DEV_CIPHER)
    limits = httpx.Limits(max_keepalive_connections=0)  # a connection, so a backend, per call
    base = f"http://127.0.0.1:{balancer.port}"
    gate = asyncio.Semaphore(6)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            load = Load(http)

            async def one() -> str:
                async with gate:
                    return await episode(load, read_model, max(1, episodes // 3))

            async def kill() -> None:
                await load.progressed.wait()
                for proc in (cluster.workers[0], cluster.replicas[0]):
                    proc.send_signal(signal.SIGKILL)
                load.killed = True

            began = time.monotonic()
            killer = asyncio.create_task(kill())
            ids = await asyncio.gather(*(one() for _ in range(episodes)))
            seconds = time.monotonic() - began
            if not load.progressed.is_set():
                killer.cancel()  # too few episodes got as far as the kill: say so, do not wait
                load.problems.append("no kill: too few episodes were authorized")
            else:
                await killer
            return load, seconds, await account(load, url, list(ids))
    finally:
        engine.dispose()


async def account(load: Load, url: str, episode_ids: list[str]) -> tuple[int, int, list[str]]:
    engine = make_engine(url)
    read_model = SqlReadModel(engine, DEV_CIPHER)
    try:
        views = {}
        for episode_id in episode_ids:
            response = await load.call("GET", f"/episodes/{episode_id}", "ops", None)
            views[episode_id] = response.json()
        versions = {ep: view["version"] for ep, view in views.items()}
        problems = await projected_completely(read_model, versions, timeout=60)
        counts = await asyncio.to_thread(applied, read_model, episode_ids)
    finally:
        engine.dispose()
    problems += [f"{ep} is {v['state']}, not closed" for ep, v in views.items()
                 if v["state"] != "closed"]  # fmt: skip
    lost = sum(1 for kind, keys in load.acknowledged.items() for k in keys if not counts[kind][k])
    doubled = sum(n - 1 for kind in counts.values() for n in kind.values() if n > 1)
    return lost, doubled, problems + load.problems


async def run(client: Client, address: str, workdir: Path, episodes: int = 12) -> FaultResult:
    began = time.monotonic()
    queue = f"scale-{new_id('q')}"
    with postgres_database() as url:
        # Intake refuses a payer missing from the directory: register the load's payers.
        directory_engine = make_engine(url)
        register_payers(SqlPayerDirectory(directory_engine), SEEDED_PAYERS)
        directory_engine.dispose()
        env = process_env(url, address, queue)
        cluster = await start_cluster(client, env, workdir)
        try:
            with round_robin(cluster.ports) as balancer:
                load, seconds, (lost, doubled, problems) = await drive(
                    cluster, balancer, url, episodes
                )
                served = dict(balancer.served)
        finally:
            stop_cluster(cluster)
    killed = [p.returncode for p in (cluster.workers[0], cluster.replicas[0])]
    if killed != [-signal.SIGKILL] * 2:
        problems.append(f"the kills did not land: return codes {killed}")
    acknowledged = sum(len(keys) for keys in load.acknowledged.values())
    notes = [
        f"{episodes} episodes from intake to closed in {seconds:.1f} s "
        f"({episodes * 60 / seconds:.1f} episodes/min on this machine); one worker and one "
        f"API replica SIGKILLed once {max(1, episodes // 3)} were authorized",
        f"{load.requests} HTTP requests through the balancer, per replica port {served}; "
        f"{load.retries} retried after a dropped connection or a 502/503, "
        f"{load.after_kill} answered after the kills",
        f"{acknowledged} accepted requests (intake, decision, service, claim, discharge), "
        "each applied exactly once, counted from the projected events",
    ]
    load_row = {
        "episodes": episodes,
        "accepted requests": acknowledged,
        "API replicas": REPLICAS,
        "workers": WORKERS,
        "kills": 2,
    }
    result = FaultResult(FAULT, load_row, lost, doubled, 0.0, notes, problems)
    result.seconds = time.monotonic() - began
    return result

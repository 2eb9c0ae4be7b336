"""Fault 1: the worker is SIGKILLed inside payer submissions and twice while updates are in
flight; each time a new worker process (cold cache) replays the histories and goes on."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from activities.episode import idempotency_key
from domain import commands as c
from store.db import make_engine, upgrade
from store.event_store import SqlEventStore
from store.sql import SqlReadModel
from store.verify import check_stored
from tests.faults.ledger import FaultResult
from tests.faults.payer_worker import BlockingPayer
from tests.support.commands import dated_command
from tests.support.episode_workflow import approval, decide, services_on
from tests.support.procs import spawn, stop_process
from workflows.episode import EpisodeWorkflow
from workflows.models import EpisodeInput, EventsQuery
from workflows.temporal import DATA_CONVERTER

WORKER = "tests.faults.payer_worker"
# Short, so the killed worker's submissions are retried within seconds instead of 30.
ACTIVITY_TIMEOUT = 2.0


async def until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        await asyncio.sleep(0.1)


async def start(client: Client, queue: str) -> WorkflowHandle[Any, Any]:
    command = dated_command(datetime.now(UTC).date())
    episode = EpisodeInput(open=command, activity_timeout_seconds=ACTIVITY_TIMEOUT)
    return await client.start_workflow(
        EpisodeWorkflow.run, episode, id=f"episode-{command.episode_id}", task_queue=queue
    )


async def decide_all(handles: list[WorkflowHandle[Any, Any]]) -> list[Any]:
    today = datetime.now(UTC).date()
    return [await decide(h, "A1", **approval(today)) for h in handles]


async def services_all(handles: list[WorkflowHandle[Any, Any]]) -> list[Any]:
    today = datetime.now(UTC).date()
    update = EpisodeWorkflow.record_services
    return [await h.execute_update(update, services_on(today, 1), id="services-1") for h in handles]


async def finish(handle: WorkflowHandle[Any, Any]) -> Any:
    """Discharge and the claim: the episode closes."""
    today = datetime.now(UTC).date()
    discharge = c.Discharge(date=today, patient_status="01", disposition="completed")
    await handle.execute_update(EpisodeWorkflow.discharge, discharge, id="discharge")
    claim = c.ReleaseClaim(claim_id=f"C-{uuid.uuid4().hex[:8]}", through=today)
    await handle.execute_update(EpisodeWorkflow.release_claim, claim)
    return await asyncio.wait_for(handle.result(), timeout=60)


async def killed_mid_update(
    workers: list[Any], start_worker: Any, updates: Any, settle: float
) -> list[Any]:
    """Sends `updates`, SIGKILLs the running worker while they are in flight, starts a new
    one (a cold cache: every history is replayed from the start) and returns the answers."""
    pending = asyncio.ensure_future(updates)
    await asyncio.sleep(settle)
    kill(workers[-1])
    workers.append(await start_worker())
    return list(await asyncio.wait_for(pending, timeout=90))


def kill(process: Any) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


async def replay_failures(handles: list[WorkflowHandle[Any, Any]]) -> int:
    """Histories written across the kill that this workflow code can no longer replay."""
    replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
    failed = 0
    for handle in handles:
        history = await handle.fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        failed += result.replay_failure is not None
    return failed


async def requested_keys(handle: WorkflowHandle[Any, Any]) -> set[str]:
    """The idempotency key of every authorization request the episode made."""
    events = await handle.query(EpisodeWorkflow.events, EventsQuery(after=0))
    requests = [e for e in events if e.type == "authorization_requested"]
    episode_id = handle.id.removeprefix("episode-")
    return {
        idempotency_key(episode_id, e.data["trace_number"], e.data["purpose"]) for e in requests
    }


async def run(client: Client, address: str, workdir: Path, episodes: int = 3) -> FaultResult:
    began = time.monotonic()
    queue, state_file = f"kill-{uuid.uuid4().hex}", workdir / f"payer-{uuid.uuid4().hex}.db"
    payer = BlockingPayer(state_file)
    database = f"sqlite:///{workdir / f'store-{uuid.uuid4().hex}.db'}"
    upgrade(database)

    async def start_worker() -> Any:
        return await spawn(WORKER, address, queue, str(state_file), database)

    workers = [await start_worker()]
    try:
        handles = [await start(client, queue) for _ in range(episodes)]
        await until(lambda: len(payer.attempts()) == episodes)  # every submission is open
        kill(workers[-1])  # kill 1: inside the payer submissions
        killed_inside = sum(1 for n in payer.attempts().values() if n == 1)
        workers.append(await start_worker())
        # At once: the retried submissions and the decisions meet in one workflow task after
        # the dead worker's sticky task timed out (what broke replay before the lanes).
        decisions = await decide_all(handles)
        keys = set().union(*[await requested_keys(h) for h in handles])
        # Kills 2 and 3: while services, then discharges, are being applied.
        services = await killed_mid_update(workers, start_worker, services_all(handles), 0.02)
        results = await killed_mid_update(
            workers, start_worker, asyncio.gather(*(finish(h) for h in handles)), 0.02
        )
    finally:
        for process in workers:
            stop_process(process, grace=40)
    result = account(payer, keys, results, killed_inside, time.monotonic() - began)
    result.problems += verify_event_store(database, {r.episode_id: r.version for r in results})
    result.problems += [f"decision answered {d.status}" for d in decisions if d.status != "applied"]
    result.problems += [f"services lost: {s.accepted}" for s in services if not s.accepted]
    result.load["worker kills"] = len(workers) - 1
    result.notes.append(
        f"{len(workers) - 1} kills (inside submissions, during decisions, during services), "
        f"each followed by a new worker process that replayed every history from the start; "
        f"`events verify` found every event chain whole (seq 1..n) and folding to its end state"
    )
    result.unreplayable = await replay_failures(handles)
    return result


def verify_event_store(database: str, versions: dict[str, int]) -> list[str]:
    """`stepdown events verify` over the episodes: every chain whole, seq 1..n up to the
    version the workflow ended at, folding to the state of the derived summary."""
    engine = make_engine(database)
    problems: list[str] = []
    try:
        store, read_model = SqlEventStore(engine), SqlReadModel(engine)
        for episode_id, version in versions.items():
            check = check_stored(store, read_model, episode_id)
            problems += check.problems
            if len(check.events) != version:
                problems.append(f"{episode_id}: {len(check.events)} events stored of {version}")
    finally:
        engine.dispose()
    return problems


def account(
    payer: BlockingPayer, keys: set[str], results: list[Any], killed: int, seconds: float
) -> FaultResult:
    accepted, attempts = payer.accepted(), payer.attempts()
    lost = len(keys - set(accepted))
    doubled = sum(times - 1 for times in accepted.values()) + len(set(accepted) - keys)
    problems = [f"{r.episode_id} ended {r.state}" for r in results if r.state != "closed"]

    notes = [
        f"{killed} submissions in flight at the kill; {sum(attempts.values())} attempts, "
        f"{len(accepted)} accepted by the payer; every episode closed",
    ]
    load = {"episodes": len(results), "submissions": len(keys), "worker kills": 3}
    fault = "Worker SIGKILLed inside payer submissions"
    return FaultResult(fault, load, lost, doubled, seconds, notes, problems)

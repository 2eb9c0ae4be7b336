"""Fault 1: the worker is SIGKILLed inside payer submissions; a new worker finishes the episodes."""

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
from tests.faults.ledger import FaultResult
from tests.faults.payer_worker import BlockingPayer
from tests.support.procs import spawn, stop_process
from tests.workflows.helpers import approval, dated_command, decide
from tests.workflows.test_episode_timers import services_on
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


async def finish(handle: WorkflowHandle[Any, Any]) -> tuple[Any, set[str]]:
    """Approval, a day of services, discharge and the claim: the episode closes.

    The idempotency keys are read while the episode runs: a query after it closed replays
    the whole history (see replay_failures).
    """
    today = datetime.now(UTC).date()
    assert (await decide(handle, "A1", **approval(today))).status == "applied"
    keys = await requested_keys(handle)
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today, 1))
    discharge = c.Discharge(date=today, patient_status="01", disposition="completed")
    await handle.execute_update(EpisodeWorkflow.discharge, discharge)
    claim = c.ReleaseClaim(claim_id=f"C-{uuid.uuid4().hex[:8]}", through=today)
    await handle.execute_update(EpisodeWorkflow.release_claim, claim)
    return await asyncio.wait_for(handle.result(), timeout=60), keys


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
    first = await spawn(WORKER, address, queue, str(state_file))
    try:
        handles = [await start(client, queue) for _ in range(episodes)]
        await until(lambda: len(payer.attempts()) == episodes)  # every submission is open
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_inside = sum(1 for n in payer.attempts().values() if n == 1)
    finally:
        stop_process(first, grace=1)
    second = await spawn(WORKER, address, queue, str(state_file))
    try:
        finished = await asyncio.gather(*(finish(h) for h in handles))
    finally:
        stop_process(second, grace=40)
    results = [result for result, _ in finished]
    keys = set().union(*(keys for _, keys in finished))
    result = account(payer, keys, results, killed_inside, time.monotonic() - began)
    result.unreplayable = await replay_failures(handles)
    return result


def account(
    payer: BlockingPayer, keys: set[str], results: list[Any], killed: int, seconds: float
) -> FaultResult:
    accepted, attempts = payer.accepted(), payer.attempts()
    lost = len(keys - set(accepted))
    doubled = sum(times - 1 for times in accepted.values()) + len(set(accepted) - keys)
    problems = [f"{r.episode_id} ended {r.state}" for r in results if r.state != "closed"]
    problems += [
        f"{r.episode_id}: read model holds seqs {payer.seqs(r.episode_id)} of {r.version}"
        for r in results
        if payer.seqs(r.episode_id) != list(range(1, r.version + 1))
    ]
    notes = [
        f"{killed} submissions in flight at the kill; {sum(attempts.values())} attempts, "
        f"{len(accepted)} accepted by the payer; every episode closed",
    ]
    load = {"episodes": len(results), "submissions": len(keys), "worker kills": 1}
    fault = "Worker SIGKILLed inside payer submissions"
    return FaultResult(fault, load, lost, doubled, seconds, notes, problems)

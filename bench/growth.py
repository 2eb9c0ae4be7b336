"""Figure 6: history events and replay time per run for episodes of one to twelve months."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from bench.drive import Tick
from bench.episodes import approval, discharge_on, open_command, services_on, start_episode
from bench.procs import BIN
from domain import commands as c
from tests.support.fakes import FakePorts
from worker import build_worker
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER, register_search_attributes


@dataclass(frozen=True)
class RunCost:
    events: int
    bytes: int
    replay_seconds: float


async def record_episode(
    env: WorkflowEnvironment, queue: str, months: int, can_after: int
) -> WorkflowHandle[Any, Any]:
    """Three services a week, a claim every four weeks, discharge after `months`, then closed."""
    client = env.client
    start = (await env.get_current_time()).date()
    command = open_command(start)
    handle = await start_episode(client, queue, command, can_after)
    days = math.ceil(months * 30.44)
    decision = approval(command.episode_id, start, days=days + 60, units=1000)
    await handle.execute_update(EpisodeWorkflow.apply_payer_decision, decision)
    for week in range(math.ceil(days / 7)):
        day = (await env.get_current_time()).date()
        await handle.execute_update(EpisodeWorkflow.record_services, services_on(day, 3))
        if week % 4 == 3:
            await _claim(handle, f"C-{week}", day)
        await env.sleep(timedelta(days=7))
    day = (await env.get_current_time()).date() - timedelta(days=1)
    await handle.execute_update(EpisodeWorkflow.discharge, discharge_on(day))
    for n in range(6):
        if not await _claim(handle, f"C-final-{n}", day):
            break
    return handle


async def _claim(handle: WorkflowHandle[Any, Any], claim_id: str, through: Any) -> bool:
    """Release a claim; False once nothing is left to bill."""
    try:
        await handle.execute_update(
            EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id=claim_id, through=through)
        )
    except WorkflowUpdateFailedError:
        return False
    return True


async def run_histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """Every run of the workflow, first to last."""
    out: list[WorkflowHistory] = []
    run_id = handle.first_execution_run_id or handle.result_run_id
    continued = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        out.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == continued
            else None
        )
    return out


async def replay_cost(history: WorkflowHistory, repeats: int) -> RunCost:
    replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        await replayer.replay_workflow(history)
        timings.append(time.perf_counter() - began)
    size = sum(event.ByteSize() for event in history.events)
    return RunCost(len(history.events), size, min(timings))


async def growth(
    months: tuple[int, ...], can_after: int, repeats: int, tick: Tick
) -> dict[str, dict[str, float]]:
    """Per episode length: runs, largest run's events and bytes, replay per run and in all."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=str(BIN / "temporal-test-server")
    )
    out: dict[str, dict[str, float]] = {}
    async with env:
        await register_search_attributes(env.client, env.client.namespace)
        queue = f"bench-growth-{uuid.uuid4().hex}"
        worker = build_worker(env.client, FakePorts().activities(), [EpisodeWorkflow], queue)
        async with worker:
            for m in months:
                handle = await record_episode(env, queue, m, can_after)
                histories = await run_histories(env.client, handle)
                costs = [await replay_cost(h, repeats) for h in histories]
                out[f"{m}mo"] = _summary(costs)
                tick()
    return out


def _summary(costs: list[RunCost]) -> dict[str, float]:
    replay = [c.replay_seconds * 1000 for c in costs]
    return {
        "runs": float(len(costs)),
        "events_per_run_max": float(max(c.events for c in costs)),
        "events_per_run_mean": sum(c.events for c in costs) / len(costs),
        "bytes_per_run_max": float(max(c.bytes for c in costs)),
        "replay_ms_per_run_max": max(replay),
        "replay_ms_per_run_mean": sum(replay) / len(replay),
        "replay_ms_per_episode": sum(replay),
    }

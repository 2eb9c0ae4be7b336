"""Figures 1, 2 and 7: no-op and episode-lifecycle throughput, and workflow tasks per run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.drive import LoopRun, Tick, closed_loop
from bench.episodes import lifecycle
from bench.noop import NoopWorkflow


@dataclass(frozen=True)
class Throughput:
    """Completed workflows per second, and workflow tasks per second from their histories."""

    per_second: float
    tasks_per_workflow: float
    completed: int
    errors: int
    # CPU milliseconds per completed workflow of the measured loop, per process group, when
    # the caller passed a CPU clock (e.g. {"worker": ..., "server": ...}).
    cpu_ms_per_workflow: dict[str, float] = field(default_factory=dict)

    @property
    def tasks_per_second(self) -> float:
        return self.per_second * self.tasks_per_workflow

    def as_dict(self) -> dict[str, float]:
        return {
            "workflows_per_s": self.per_second,
            "workflow_tasks_per_s": self.tasks_per_second,
            "workflow_tasks_per_workflow": self.tasks_per_workflow,
            "completed": float(self.completed),
            "errors": float(self.errors),
        }


async def noop(client: Client, queue: str) -> str:
    workflow_id = f"noop-{uuid.uuid4().hex}"
    await client.execute_workflow(NoopWorkflow.run, False, id=workflow_id, task_queue=queue)
    return workflow_id


async def noop_throughput(
    client: Client, queue: str, concurrency: int, duration: float, tick: Tick
) -> Throughput:
    await closed_loop(lambda: noop(client, queue), concurrency, min(duration, 2.0))  # warm-up
    run = await closed_loop(lambda: noop(client, queue), concurrency, duration, tick)
    return await _measured(client, run)


async def lifecycle_throughput(
    client: Client,
    queue: str,
    concurrency: int,
    duration: float,
    tick: Tick,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> Throughput:
    """`cpu`, when given, reads CPU seconds used so far per process group; the result then
    holds what one episode of the measured loop (not the warm-up) cost each group."""
    await closed_loop(lambda: lifecycle(client, queue), concurrency, min(duration, 2.0))
    before = cpu() if cpu else {}
    run = await closed_loop(lambda: lifecycle(client, queue), concurrency, duration, tick)
    after = cpu() if cpu else {}
    measured = await _measured(client, run)
    episodes = max(measured.completed, 1)
    costs = {name: 1000 * (after[name] - before[name]) / episodes for name in before}
    return replace(measured, cpu_ms_per_workflow=costs)


async def _measured(client: Client, run: LoopRun, sample: int = 50) -> Throughput:
    if run.errors:
        raise RuntimeError(f"{len(run.errors)} operations failed, first: {run.errors[0]}")
    tasks = await workflow_tasks(client, run.results[:sample])
    return Throughput(run.per_second, tasks, len(run.results), len(run.errors))


async def workflow_tasks(client: Client, workflow_ids: Sequence[str]) -> float:
    """Mean WorkflowTaskCompleted events per workflow (every run of it) over `workflow_ids`."""
    if not workflow_ids:
        return 0.0
    counts = await asyncio.gather(*(_tasks_of(client, wid) for wid in workflow_ids))
    return sum(counts) / len(counts)


async def _tasks_of(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return sum(1 for event in history.events if event.event_type == completed)

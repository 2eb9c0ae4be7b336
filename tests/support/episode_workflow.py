"""An EpisodeWorkflow driven by a test: started, queried, answered as its payer, over fakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities

# The bench drives episodes with the same services (bench/episodes.py).
from bench.episodes import services_on as services_on
from domain import commands as c
from domain.model import PayerDecision
from domain.views import EpisodeView
from tests.support.commands import dated_command
from tests.support.fakes import (
    RecordingClaimsOutbox,
    RecordingNotifier,
    RecordingPayerGateway,
    RecordingReadModel,
)
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow
from workflows.models import EpisodeInput


@dataclass
class World:
    """The fakes behind one worker's activities, for assertions on what reached the world."""

    gateway: RecordingPayerGateway
    read_model: RecordingReadModel
    notifier: RecordingNotifier
    outbox: RecordingClaimsOutbox
    activities: EpisodeActivities


def world() -> World:
    notifier, outbox = RecordingNotifier(), RecordingClaimsOutbox()
    gateway, read_model = RecordingPayerGateway(), RecordingReadModel(outbox)
    acts = EpisodeActivities(gateway, read_model, notifier, outbox)
    return World(gateway, read_model, notifier, outbox, acts)


@dataclass(frozen=True)
class EpisodeWorker:
    """A Temporal server, the world of fakes a worker there acts on, and its task queue."""

    env: WorkflowEnvironment
    world: World
    queue: str

    async def open(self, **overrides: Any) -> WorkflowHandle[Any, Any]:
        """A new episode on this worker's queue (`start_episode` with its options)."""
        return await start_episode(self.env.client, self.queue, **overrides)


@asynccontextmanager
async def episode_worker(env: WorkflowEnvironment) -> AsyncIterator[EpisodeWorker]:
    """A worker on a fresh task queue of `env`, acting on a new world of fakes."""
    fakes = world()
    queue = f"tq-{uuid.uuid4().hex}"
    async with running_worker(env.client, fakes.activities, [EpisodeWorkflow], queue):
        yield EpisodeWorker(env, fakes, queue)


async def start_episode(
    client: Client,
    task_queue: str,
    *,
    upsert: bool = True,
    can_after: int = 500,
    history_budget: int | None = 200,
    payer_give_up: float | None = None,
    **overrides: Any,
) -> WorkflowHandle[Any, Any]:
    today = datetime.now(UTC).date()
    cmd = dated_command(today, **overrides)
    return await client.start_workflow(
        EpisodeWorkflow.run,
        EpisodeInput(
            open=cmd,
            upsert_search_attributes=upsert,
            continue_as_new_after_events=can_after,
            continue_as_new_after_history_events=history_budget,
            payer_give_up_seconds=payer_give_up,
        ),
        id=f"episode-{cmd.episode_id}",
        task_queue=task_queue,
    )


async def view(handle: WorkflowHandle[Any, Any]) -> EpisodeView:
    result: EpisodeView = await handle.query(EpisodeWorkflow.view)
    return result


async def decide(
    handle: WorkflowHandle[Any, Any],
    action: str,
    *,
    delivery_id: str | None = None,
    channel: str | None = None,
    **fields: Any,
) -> Any:
    current = await view(handle)
    decision = PayerDecision.model_validate(
        {"trace_number": current.trace_number, "action": action, **fields}
    )
    delivery = delivery_id or uuid.uuid4().hex
    cmd = c.ApplyPayerDecision.model_validate(
        {"delivery_id": delivery, "decision": decision, "channel": channel}
    )
    return await handle.execute_update(EpisodeWorkflow.apply_payer_decision, cmd, id=delivery)


def approval(
    today: date, days: int = 40, units: int = 20, number: str = "AUTH-1"
) -> dict[str, Any]:
    return {
        "authorization_number": number,
        "start": today,
        "end": today + timedelta(days=days),
        "units": units,
    }


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[str]:
    from workflows.models import EventsQuery

    events = await handle.query(EpisodeWorkflow.events, EventsQuery(after=0))
    return [e.type for e in events]

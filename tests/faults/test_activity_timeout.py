"""EpisodeInput.activity_timeout_seconds sets every activity's start-to-close; None keeps 30 s."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.support.commands import dated_command
from tests.support.episode_workflow import world
from tests.support.fakes import RecordingReadModel
from tests.support.polling import eventually
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow
from workflows.models import EpisodeInput


async def projected(read_model: RecordingReadModel, episode_id: str) -> bool:
    return episode_id in read_model.summaries


async def start_to_close_timeouts(env: WorkflowEnvironment, timeout: float | None) -> set[float]:
    """Opens an episode with `timeout` and reads the timeouts its scheduled activities got."""
    queue = f"tq-timeout-{uuid.uuid4().hex}"
    command = dated_command(datetime.now(UTC).date())
    episode = EpisodeInput(open=command, activity_timeout_seconds=timeout)
    fakes = world()
    async with running_worker(env.client, fakes.activities, [EpisodeWorkflow], queue):
        handle = await env.client.start_workflow(
            EpisodeWorkflow.run, episode, id=f"episode-{command.episode_id}", task_queue=queue
        )
        await eventually(lambda: projected(fakes.read_model, command.episode_id))
        history = await handle.fetch_history()
        await handle.terminate()
    scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    return {
        e.activity_task_scheduled_event_attributes.start_to_close_timeout.ToTimedelta()
        / timedelta(seconds=1)
        for e in history.events
        if e.event_type == scheduled
    }


@pytest.mark.parametrize(("timeout", "expected"), [(2.5, {2.5}), (None, {30.0})])
async def test_the_episode_input_sets_the_start_to_close_of_its_activities(
    dev_env: WorkflowEnvironment, timeout: float | None, expected: set[float]
) -> None:
    assert await start_to_close_timeouts(dev_env, timeout) == expected

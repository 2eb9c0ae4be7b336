"""A workflow task that keeps failing is found, and the episode reset to its last good task."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from api.metrics import Metrics
from api.stuck import StuckScan
from tests.support.episode_workflow import approval, decide, services_on, start_episode, view, world
from tests.support.procs import spawn, stop_process
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow
from workflows.operations import reset_to_last_good_task, stuck_episodes

pytestmark = pytest.mark.slow


async def until_stuck(
    env: WorkflowEnvironment, episode_id: str, timeout: float = 60.0, attempts: int = 2
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {s.episode_id: s for s in await stuck_episodes(env.client, attempts=attempts)}
        if episode_id in found:
            return found[episode_id].attempts
        await asyncio.sleep(0.5)
    raise AssertionError(f"{episode_id} never reported stuck")


async def test_a_stuck_episode_is_found_and_reset_to_its_last_good_task(
    dev_env: WorkflowEnvironment,
) -> None:
    queue = f"stuck-{uuid.uuid4().hex}"
    today = datetime.now(UTC).date()
    async with running_worker(dev_env.client, world().activities, [EpisodeWorkflow], queue):
        handle = await start_episode(dev_env.client, queue)
        assert (await decide(handle, "A1", **approval(today))).status == "applied"
        before = await view(handle)
    episode_id = before.episode_id
    assert episode_id not in {s.episode_id for s in await stuck_episodes(dev_env.client)}

    address = dev_env.client.service_client.config.target_host
    broken = await spawn("tests.workflows.broken_worker", address, queue)
    update = EpisodeWorkflow.record_services
    waiting = asyncio.ensure_future(handle.execute_update(update, services_on(today, 1)))
    try:
        assert await until_stuck(dev_env, episode_id) >= 2
        # The API's scan shows it on the worklist and as a gauge (3 attempts make it stuck).
        scan = StuckScan(dev_env.client, metrics := Metrics())
        await until_stuck(dev_env, episode_id, attempts=3)
        await scan.run_once()
        [item] = [i for i in scan.items() if i.episode_id == episode_id]
        assert item.kind == "workflow_stuck" and "episode reset" in item.detail
        assert "stepdown_workflows_stuck " in metrics.render()
    finally:
        stop_process(broken, grace=5)
        waiting.cancel()

    with pytest.raises(ValueError, match="needs a reason"):
        await reset_to_last_good_task(dev_env.client, episode_id, " ")
    done = await reset_to_last_good_task(dev_env.client, episode_id, "bad build 1.2 rolled back")
    assert done.new_run_id != done.old_run_id

    async with running_worker(dev_env.client, world().activities, [EpisodeWorkflow], queue):
        current = dev_env.client.get_workflow_handle(handle.id)
        after = await view(current)
        assert (after.state, after.version) == (before.state, before.version)
        result = await current.execute_update(update, services_on(today, 1), id="after-reset")
        assert result.accepted and result.version > before.version
    assert episode_id not in {s.episode_id for s in await stuck_episodes(dev_env.client)}

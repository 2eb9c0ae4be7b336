"""Worker Deployments: a versioned build takes episodes once it is made current."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.support.episode_workflow import approval, decide, start_episode, view, world
from worker import build_worker, deployment_config
from workflows.episode import EpisodeWorkflow


def test_no_deployment_setting_means_an_unversioned_worker() -> None:
    assert deployment_config(Settings()) is None
    config = deployment_config(
        Settings(STEPDOWN_WORKER_DEPLOYMENT="stepdown", STEPDOWN_WORKER_BUILD_ID="b7")
    )
    assert config is not None and config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == ("stepdown", "b7")
    assert config.default_versioning_behavior == VersioningBehavior.AUTO_UPGRADE


async def make_current(env: WorkflowEnvironment, deployment: str, build_id: str) -> None:
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=env.client.namespace,
        deployment_name=deployment,
        build_id=build_id,
        identity="test",
    )
    # The version exists once the worker's pollers have reached the server.
    for _ in range(100):
        try:
            await env.client.workflow_service.set_worker_deployment_current_version(request)
            return
        except Exception:
            await asyncio.sleep(0.1)
    await env.client.workflow_service.set_worker_deployment_current_version(request)


async def test_a_versioned_worker_runs_episodes_of_its_current_version(
    dev_env: WorkflowEnvironment,
) -> None:
    deployment, build = f"stepdown-{uuid.uuid4().hex[:8]}", "build-1"
    settings = Settings(STEPDOWN_WORKER_DEPLOYMENT=deployment, STEPDOWN_WORKER_BUILD_ID=build)
    queue = f"versioned-{uuid.uuid4().hex}"
    worker = build_worker(
        dev_env.client, world().activities, [EpisodeWorkflow], queue, deployment_config(settings)
    )
    async with worker:
        await make_current(dev_env, deployment, build)
        handle = await start_episode(dev_env.client, queue)
        today = datetime.now(UTC).date()
        assert (await decide(handle, "A1", **approval(today))).status == "applied"
        assert (await view(handle)).state == "authorized"
        described = await handle.describe()
        versioning = described.raw_description.workflow_execution_info.versioning_info
        assert versioning.behavior == VersioningBehavior.AUTO_UPGRADE.value
        assert versioning.deployment_version.build_id == build

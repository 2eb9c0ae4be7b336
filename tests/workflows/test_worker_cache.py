"""The worker's workflow cache is bounded by a setting; an evicted episode replays and goes on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.support.episode_workflow import approval, decide, start_episode, view, world
from worker import build_worker
from workflows.episode import EpisodeWorkflow

NAME = "STEPDOWN_WORKER_MAX_CACHED_WORKFLOWS"


def test_the_cache_size_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().worker_max_cached_workflows == 1000
    monkeypatch.setenv(NAME, "50")
    assert Settings().worker_max_cached_workflows == 50


@pytest.mark.parametrize("bad", ["-1", "many", "100001", "2.5"])
def test_a_cache_size_out_of_bounds_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(NAME, bad)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert NAME in str(refused.value)


async def test_episodes_evicted_from_a_cache_of_one_replay_and_go_on(
    dev_env: WorkflowEnvironment,
) -> None:
    queue = f"cache-{uuid.uuid4().hex}"
    worker = build_worker(
        dev_env.client, world().activities, [EpisodeWorkflow], queue, max_cached_workflows=1
    )
    assert worker.config()["max_cached_workflows"] == 1
    async with worker:
        first = await start_episode(dev_env.client, queue)
        second = await start_episode(dev_env.client, queue)
        today = datetime.now(UTC).date()
        # Each update lands on the episode the other one pushed out of the cache.
        for handle in (first, second, first, second):
            assert (await view(handle)).state in {"auth_requested", "authorized"}
        assert (await decide(first, "A1", **approval(today))).status == "applied"
        assert (await decide(second, "A1", **approval(today))).status == "applied"
        assert (await view(first)).state == "authorized"
        assert (await view(second)).state == "authorized"

"""Fault 2: Temporal stopped and restarted mid-episodes: webhooks queue, then apply once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from api.episode_calls import EpisodeCalls
from tests.faults import scenario_temporal_restart
from workflows.client import WorkflowServiceUnavailable


@pytest.mark.slow
async def test_episodes_continue_and_queued_webhooks_apply_once_after_a_restart(
    tmp_path: Path,
) -> None:
    result = await scenario_temporal_restart.run(tmp_path)

    assert (result.lost, result.doubled, result.problems) == (0, 0, [])
    assert result.load == {"episodes": 6, "deliveries": 8, "server restarts": 1}
    assert result.notes[0].startswith("answered while Temporal was down: 3 queued, 2 duplicate")


class VanishedServer:
    """An EpisodeClient whose server went away: the update hangs in the client's retries and,
    once cancelled, raises what temporalio raises for a cancelled update."""

    async def update(self, episode_id: str, update: Any, arg: Any, **kwargs: Any) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError as err:
            raise WorkflowUpdateRPCTimeoutOrCancelledError() from err


async def test_an_update_cut_off_by_the_gateway_timeout_means_temporal_is_unavailable() -> None:
    gateway = EpisodeCalls(VanishedServer(), timeout=0.05)  # type: ignore[arg-type]

    with pytest.raises(WorkflowServiceUnavailable, match=r"no answer within 0\.05 s"):
        await gateway.update("ep-1", None, None, update_id="dlv-1")

"""The stuck-workflow scan: episodes whose workflow task keeps failing, on the worklist.

Runs in the API process every STEPDOWN_STUCK_SCAN_INTERVAL seconds (0: off). Each scan lists
the running episodes and describes each one, so on a very large namespace make the interval
longer; the result is kept in this replica's memory and shown as `workflow_stuck` worklist
items and the `stepdown_workflows_stuck` gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.client import Client

from api.metrics import Metrics
from api.problems import traceback_only
from domain.views import WorklistItem
from workflows.operations import StuckEpisode, stuck_episodes

log = logging.getLogger("stepdown.stuck")


class StuckScan:
    def __init__(self, client: Client, metrics: Metrics) -> None:
        self._client = client
        self._metrics = metrics
        self._stuck: list[StuckEpisode] = []

    async def run_once(self) -> list[StuckEpisode]:
        self._stuck = await stuck_episodes(self._client)
        self._metrics.set("stepdown_workflows_stuck", len(self._stuck))
        for episode in self._stuck:
            log.error("episode %s stuck: workflow task failed %s times", *_fields(episode))
        return self._stuck

    def items(self) -> list[WorklistItem]:
        return [
            WorklistItem(
                episode_id=s.episode_id,
                kind="workflow_stuck",
                due=None,
                detail=(
                    f"the episode's workflow task failed {s.attempts} times in a row: updates "
                    "and deadlines wait; see the runbook in docs/reliability.md "
                    "(stepdown episode reset)"
                ),
            )
            for s in self._stuck
        ]

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as err:
                log.error("stuck scan failed: %s", traceback_only(err))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def _fields(episode: StuckEpisode) -> tuple[str, int]:
    return episode.episode_id, episode.attempts

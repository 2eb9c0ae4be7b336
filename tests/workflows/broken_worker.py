"""A worker whose workflow code no longer replays today's histories: it answers every
`workflow.patched` with False, as a build that dropped a patch too early would.

Usage: python -m tests.workflows.broken_worker ADDRESS TASK_QUEUE
"""

from __future__ import annotations

import asyncio
import sys

from temporalio import workflow
from temporalio.client import Client

from activities.episode import EpisodeActivities
from tests.support.fakes import FakePorts
from worker import build_worker, run_until_stopped
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER


def never_patched(patch_id: str) -> bool:
    return False


async def main(address: str, task_queue: str) -> None:
    # temporalio passes through the workflow sandbox, so the workflow sees this function.
    workflow.patched = never_patched  # type: ignore[assignment]
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    ports = FakePorts()
    acts = EpisodeActivities(ports.payer_gateway, ports.read_model, ports.notifier, ports.outbox)
    worker = build_worker(client, acts, [EpisodeWorkflow], task_queue)
    print("ready", flush=True)  # the test waits for this line
    await run_until_stopped(worker)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))

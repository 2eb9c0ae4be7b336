"""A worker process for the crash test: its payer gateway and read model live in a SQLite file.

Usage: python -m tests.workflows.crash_worker ADDRESS TASK_QUEUE STATE_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from temporalio.client import Client

from activities.episode import EpisodeActivities
from tests.support.fakes import RecordingClaimsOutbox, RecordingNotifier
from tests.support.file_state import FileState
from worker import build_worker, run_until_stopped
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER


async def main(address: str, task_queue: str, state_file: str) -> None:
    state = FileState(Path(state_file))
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    acts = EpisodeActivities(state, state, RecordingNotifier(), RecordingClaimsOutbox())
    worker = build_worker(client, acts, [EpisodeWorkflow], task_queue)
    print("ready", flush=True)  # the test waits for this line
    await run_until_stopped(worker)


if __name__ == "__main__":
    if sys.argv[1] == "report":
        print(json.dumps(FileState(Path(sys.argv[2])).report()))
    else:
        asyncio.run(main(*sys.argv[1:4]))

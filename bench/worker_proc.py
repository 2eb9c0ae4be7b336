"""A worker process for the benchmarks: the no-op and episode workflows, fake or SQL ports."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from temporalio.client import Client

from activities.episode import EpisodeActivities
from bench.noop import NoopWorkflow
from tests.support.fakes import FakePorts
from worker import build_worker
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER


def activities(database_url: str | None) -> EpisodeActivities:
    """Fake ports, or the SQL read model at `database_url` (migrated by the caller)."""
    ports = FakePorts()
    if database_url is None:
        return ports.activities()
    from settings import Settings
    from store.db import make_engine
    from store.phi import cipher_from_settings
    from store.sql import SqlReadModel

    # Sealed and indexed with the dev keys the bench's API (dev mode) reads and searches with.
    cipher = cipher_from_settings(Settings.model_validate({"STEPDOWN_DEV": True}))
    read_model = SqlReadModel(make_engine(database_url), cipher)
    return EpisodeActivities(ports.payer_gateway, read_model, ports.notifier, ports.outbox)


async def serve(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address, data_converter=DATA_CONVERTER)
    worker = build_worker(
        client,
        activities(args.database_url),
        [NoopWorkflow, EpisodeWorkflow],
        args.task_queue,
        max_cached_workflows=args.max_cached_workflows,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        # Written once polling has started: the driver then warms the worker up itself.
        Path(args.ready_file).touch()
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--max-cached-workflows", type=int, default=1000)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()

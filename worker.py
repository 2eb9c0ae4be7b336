"""Runs a Temporal worker with the episode workflow and its activities until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.episode import EpisodeActivities
from activities.fakes import FakePorts
from payers.gateways import payer_gateway
from settings import Settings, get_settings
from store.db import make_engine
from store.sql import SqlReadModel
from workflows.connection import Credentials, CredentialWatcher, load_credentials, watches_files
from workflows.telemetry import metrics_runtime, tracer_provider, tracing_interceptors
from workflows.temporal import connect, register_search_attributes

log = logging.getLogger("stepdown.worker")

# Matches the activities' start-to-close timeout, so a shutdown lets running calls finish.
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


def build_worker(
    client: Client,
    activities: EpisodeActivities,
    workflows: Sequence[type],
    task_queue: str,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=activities.all(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


def default_activities(settings: Settings) -> EpisodeActivities:
    """The ports this process talks to; the one place to swap fakes for real adapters.

    Events project into the SQL read model at DATABASE_URL (the API lists episodes and
    matches webhooks from it); payer requests go through the settings' gateway; staff
    notifications and the claims outbox are still in-memory recorders.
    """
    fakes = FakePorts()
    read_model = SqlReadModel(make_engine(settings.database_url))
    return EpisodeActivities(payer_gateway(settings), read_model, fakes.notifier, fakes.outbox)


async def run_until_stopped(worker: Worker, rotation: CredentialWatcher | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Leaving the block shuts the worker down gracefully: no new tasks are polled and
    # running activities get GRACEFUL_SHUTDOWN to finish.
    async with worker:
        log.info("worker polling task queue %s", worker.task_queue)
        watching = asyncio.create_task(rotation.run(stop)) if rotation else None
        await stop.wait()
        log.info("stopping worker")
        if watching is not None:
            await watching


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    # Imported here so this module loads before the workflow exists and so the
    # workflow module is only imported by the process that runs it.
    from workflows.episode import EpisodeWorkflow

    settings = get_settings()
    # Off unless their settings are set: SDK metrics for Prometheus, OpenTelemetry traces.
    runtime = metrics_runtime(settings)
    provider = tracer_provider(settings, "stepdown-worker")
    interceptors = tracing_interceptors(provider)
    credentials = load_credentials(settings)
    client = await connect(
        settings, credentials=credentials, runtime=runtime, interceptors=interceptors
    )
    await register_search_attributes(client, settings.temporal_namespace)
    worker = build_worker(
        client, default_activities(settings), [EpisodeWorkflow], settings.task_queue
    )
    rotation = None
    if watches_files(settings):

        async def reconnect(fresh: Credentials) -> Client:
            return await connect(
                settings, credentials=fresh, runtime=runtime, interceptors=interceptors
            )

        def swap(new: Client) -> None:
            # The worker's pollers move to the new connection; running tasks finish.
            worker.client = new

        rotation = CredentialWatcher(settings, credentials, swap, reconnect)
    try:
        await run_until_stopped(worker, rotation)
    finally:
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

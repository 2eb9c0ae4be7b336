"""Runs a Temporal worker with the episode workflow and its activities until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.claims_batches import ClaimBatcher, claim_batcher
from activities.claims_outbox import SqlClaimsOutbox
from activities.episode import EpisodeActivities
from activities.notifier import sql_smtp_notifier
from payers.gateways import payer_gateway
from payers.x12_gateway import X12PayerGateway, x12_gateway
from settings import Settings, get_settings
from store.db import make_engine
from store.phi import cipher_from_settings
from store.sql import SqlReadModel
from store.sql_claims import SqlClaimBatches
from workflows.connection import Credentials, CredentialWatcher, load_credentials, watches_files
from workflows.telemetry import metrics_runtime, tracer_provider, tracing_interceptors
from workflows.temporal import connect, ensure_retention, register_search_attributes

log = logging.getLogger("stepdown.worker")

# Matches the activities' start-to-close timeout, so a shutdown lets running calls finish.
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


def build_worker(
    client: Client,
    activities: EpisodeActivities,
    workflows: Sequence[type],
    task_queue: str,
    deployment: WorkerDeploymentConfig | None = None,
    max_cached_workflows: int = 1000,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=activities.all(),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        deployment_config=deployment,
        max_cached_workflows=max_cached_workflows,
    )


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Worker versioning with Temporal Worker Deployments, when a deployment name is set.

    Episodes run for months, longer than any build: pinning a run to the build that started
    it would keep old workers alive for months. So they AUTO_UPGRADE to the deployment's
    current version; every change of commands sits behind `workflow.patched` and the
    histories of each release replay in the suite (tests/histories/<release>/). What the
    deployment adds is control: a new build takes no workflow task until an operator makes
    it current (or ramps it), and a bad build is rolled back by making the old one current
    again (`temporal worker deployment set-current-version`, deploy/README.md).
    """
    if settings.worker_deployment is None:
        return None
    version = WorkerDeploymentVersion(settings.worker_deployment, settings.worker_build_id)
    return WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


@dataclass(frozen=True)
class WorkerAdapters:
    """What the worker process talks to besides Temporal, all over one engine."""

    activities: EpisodeActivities
    claims: ClaimBatcher
    engine: Engine


def build_adapters(settings: Settings) -> WorkerAdapters:
    """The one place this process builds its adapters; tests swap in fakes around it.

    Events project into the SQL read model at DATABASE_URL (the API lists episodes and
    matches webhooks from it), and a released claim into the claims outbox in the same
    transaction; payer requests go out on each payer's channel from the payer directory
    (Da Vinci PAS, X12 278 through the clearinghouse mailbox, or none for webhook-only
    payers); staff notifications are stored for the console and emailed over SMTP; the
    claims schedule cuts batches from the same outbox into the claim files folder.
    """
    engine = make_engine(settings.database_url)
    cipher = cipher_from_settings(settings)
    outbox = SqlClaimsOutbox(SqlClaimBatches(engine, cipher=cipher))
    notifier = sql_smtp_notifier(settings, engine)
    try:
        x12: X12PayerGateway | None = x12_gateway(settings, engine)
    except ValueError as err:
        # Without our requester identity an `x12` payer's submission is refused with the
        # reason (and becomes submission_failed); the other channels work.
        log.warning("X12 channel off: %s", err)
        x12 = None
    gateway = payer_gateway(settings, engine, x12=x12)
    # PHI in event data is sealed at rest with the payload keys (store/phi.py).
    read_model = SqlReadModel(engine, cipher)
    activities = EpisodeActivities(gateway, read_model, notifier, outbox)
    return WorkerAdapters(activities, claim_batcher(settings, engine), engine)


async def run_claims_schedule(claims: ClaimBatcher, interval: float, stop: asyncio.Event) -> None:
    """Cuts and sends claim batches every STEPDOWN_CLAIMS_BATCH_INTERVAL seconds (0: never)."""
    if interval > 0:
        await claims.run(interval, stop)


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
    log.info(
        await ensure_retention(
            client, settings.temporal_namespace, settings.temporal_retention_days
        )
    )
    adapters = build_adapters(settings)
    worker = build_worker(
        client,
        adapters.activities,
        [EpisodeWorkflow],
        settings.task_queue,
        deployment_config(settings),
        settings.worker_max_cached_workflows,
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
    stop_schedule = asyncio.Event()
    interval = settings.claims_batch_interval_seconds
    schedule = asyncio.create_task(run_claims_schedule(adapters.claims, interval, stop_schedule))
    try:
        await run_until_stopped(worker, rotation)
    finally:
        stop_schedule.set()
        await schedule
        adapters.engine.dispose()
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

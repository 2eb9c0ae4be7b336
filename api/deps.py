"""What routes depend on (workflow client, stores, health checks, clock), as Annotated aliases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine, text
from temporalio.client import Client, Interceptor

from activities.claims_batches import ClaimBatcher, claim_batcher
from api.episode_calls import EpisodeCalls
from api.metrics import Metrics
from api.stuck import StuckScan
from domain.model import Actor
from payers.mailbox import Mailbox, configured_mailbox
from settings import Settings
from store.attachments import SqlAttachments
from store.db import make_engine
from store.notes import SqlNotes
from store.payers import PayerDirectory
from store.phi import cipher_from_settings
from store.ports import AuditLog, ReadModel, WebhookInbox
from store.sql import SqlAuditLog, SqlReadModel, SqlWebhookInbox
from store.sql_notifications import SqlNotifications
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from store.sql_users import SqlUserStore
from store.submissions import SubmissionLog
from store.throttles import SqlThrottleCounts, ThrottleCounts
from store.users import UserStore
from store.x12_ledger import SqlX12Ledger, X12Ledger
from workflows.client import EpisodeClient
from workflows.codec import build_codec
from workflows.connection import Credentials, CredentialWatcher, load_credentials, watches_files
from workflows.temporal import connect, data_converter

P = ParamSpec("P")
T = TypeVar("T")
HealthCheck = Callable[[], Awaitable[None]]
HEALTH_TIMEOUT = timedelta(seconds=3)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiDeps:
    """Everything outside the API process the routes talk to; tests inject real ones."""

    episodes: EpisodeClient
    read_model: ReadModel
    inbox: WebhookInbox
    audit_log: AuditLog
    temporal_health: HealthCheck
    database_health: HealthCheck
    clock: Callable[[], datetime] = utc_now
    metrics: Metrics = field(default_factory=Metrics)
    # 278 requests written and 999/TA1 acknowledgements received (the X12 channel), and the
    # clearinghouse mailbox the API polls for answers.
    x12_ledger: X12Ledger | None = None
    mailbox: Mailbox | None = None

    # The claims outbox and staff notifications (SQL); None only in apps built without them.
    claims: ClaimBatcher | None = None
    notifications: SqlNotifications | None = None

    # Episodes whose workflow task keeps failing, from the last scan (api/stuck.py).
    stuck: StuckScan | None = None

    # The payer directory and the outbound submissions log (sql_deps always sets both).
    payers: PayerDirectory | None = None
    submissions: SubmissionLog | None = None

    def directory(self) -> PayerDirectory:
        assert self.payers is not None, "ApiDeps built without a payer directory"
        return self.payers

    def submission_log(self) -> SubmissionLog:
        assert self.submissions is not None, "ApiDeps built without a submissions log"
        return self.submissions

    # People, their personal tokens and console sessions; None: role tokens only.
    users: UserStore | None = None
    # Notes on episodes, sealed with the payload keyring; None: no notes.
    notes: SqlNotes | None = None
    attachments: SqlAttachments | None = None
    # Failed sign-ins and bad tokens, counted for every replica (api/throttle.py); None:
    # counted in this process only.
    throttle_counts: ThrottleCounts | None = None


def temporal_health(client: Client) -> HealthCheck:
    async def check() -> None:
        if not await client.service_client.check_health(timeout=HEALTH_TIMEOUT):
            raise RuntimeError("Temporal reports itself unhealthy")

    return check


def database_health(engine: Engine) -> HealthCheck:
    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def check() -> None:
        await asyncio.wait_for(asyncio.to_thread(ping), HEALTH_TIMEOUT.total_seconds())

    return check


def sql_deps(engine: Engine, client: Client, settings: Settings) -> ApiDeps:
    """The one place the API builds its adapters, over one engine and one Temporal client;
    PHI sealed at rest."""
    cipher = cipher_from_settings(settings)
    # Notes and attachments are sealed with the payload keyring; without one they answer 503.
    codec = build_codec(settings) if cipher is not None else None
    return ApiDeps(
        episodes=EpisodeClient(
            client,
            settings.task_queue,
            continue_as_new_after_events=settings.continue_as_new_after_events,
            continue_as_new_after_history_events=settings.continue_as_new_after_history_events,
        ),
        read_model=SqlReadModel(engine, cipher),
        inbox=SqlWebhookInbox(engine, cipher),
        audit_log=SqlAuditLog(engine),
        temporal_health=temporal_health(client),
        database_health=database_health(engine),
        x12_ledger=SqlX12Ledger(engine, cipher),
        mailbox=configured_mailbox(settings),
        claims=claim_batcher(settings, engine),
        notifications=SqlNotifications(engine),
        payers=SqlPayerDirectory(engine),
        submissions=SqlSubmissionLog(engine, cipher),
        users=SqlUserStore(engine),
        notes=SqlNotes(engine, codec),
        attachments=SqlAttachments(engine, codec),
        throttle_counts=SqlThrottleCounts(engine),
    )


@asynccontextmanager
async def production_deps(
    settings: Settings, interceptors: Sequence[Interceptor] = ()
) -> AsyncIterator[ApiDeps]:
    engine = make_engine(settings.database_url)
    # Credentials are checked now (a bad certificate stops the start), but the dial is
    # lazy: the API starts, and keeps webhooks in its inbox, while Temporal is down.
    credentials = load_credentials(settings)
    client = await connect(
        settings,
        credentials=credentials,
        data_converter=data_converter(settings),
        lazy=True,
        interceptors=interceptors,
    )
    deps = sql_deps(engine, client, settings)
    stop = asyncio.Event()
    watching = None
    if watches_files(settings):

        async def reconnect(fresh: Credentials) -> Client:
            return await connect(settings, credentials=fresh, lazy=True, interceptors=interceptors)

        def swap(new: Client) -> None:
            deps.episodes.client = new
            deps.temporal_health = temporal_health(new)

        rotation = CredentialWatcher(settings, credentials, swap, reconnect)
        watching = asyncio.create_task(rotation.run(stop))
    try:
        yield deps
    finally:
        stop.set()
        if watching is not None:
            await watching
        engine.dispose()


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A synchronous store call, off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def get_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


def request_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def actor_of_request(request: Request) -> Actor | None:
    """The signed-in caller (api.auth.User, set on request.state) as the domain names it."""
    user = getattr(request.state, "user", None)
    if user is None:
        return None
    return Actor(id=user.actor, role=user.role, name=user.name)


def get_episode_calls(request: Request) -> EpisodeCalls:
    deps, settings = get_deps(request), request_settings(request)
    timeout = settings.temporal_timeout_seconds
    return EpisodeCalls(
        deps.episodes, timeout, lambda: actor_of_request(request), metrics=deps.metrics
    )


def _read_model(request: Request) -> ReadModel:
    return get_deps(request).read_model


def _clock(request: Request) -> Callable[[], datetime]:
    return get_deps(request).clock


def _metrics(request: Request) -> Metrics:
    return get_deps(request).metrics


def _directory(request: Request) -> PayerDirectory:
    return get_deps(request).directory()


def _users(request: Request) -> UserStore | None:
    return get_deps(request).users


def _notes(request: Request) -> SqlNotes | None:
    return get_deps(request).notes


def _attachments(request: Request) -> SqlAttachments | None:
    return get_deps(request).attachments


# The whole bag, for routes that hand it on (the delivery processor, the console pages).
Deps = Annotated[ApiDeps, Depends(get_deps)]
SettingsDep = Annotated[Settings, Depends(request_settings)]
Workflows = Annotated[EpisodeCalls, Depends(get_episode_calls)]
# One dependency each, for routes that need one or two parts: the signature says which.
ReadModelDep = Annotated[ReadModel, Depends(_read_model)]
ClockDep = Annotated[Callable[[], datetime], Depends(_clock)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
DirectoryDep = Annotated[PayerDirectory, Depends(_directory)]
UsersDep = Annotated[UserStore | None, Depends(_users)]
NotesDep = Annotated[SqlNotes | None, Depends(_notes)]
AttachmentsDep = Annotated[SqlAttachments | None, Depends(_attachments)]

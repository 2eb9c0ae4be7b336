"""The FastAPI application: routes, problem handlers, middleware and the redelivery loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from opentelemetry.sdk.trace import TracerProvider
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from api import auth, console, docs
from api.codec import codec_cors_middleware, make_codec_router
from api.deps import ApiDeps, production_deps
from api.mailbox_poller import MailboxPoller
from api.middleware import BodyLimitMiddleware, ObserveMiddleware
from api.problems import install_problem_handlers
from api.redelivery import Redelivery
from api.routes import (
    actions,
    attachments,
    attendance,
    billing,
    claims,
    episodes,
    notes,
    notifications,
    ops,
    owners,
    payers,
    reports,
    submissions,
    webhooks,
)
from api.stuck import StuckScan
from settings import DEV_PAYLOAD_KEY, Settings, decode_payload_key, get_settings
from workflows.telemetry import trace_http, tracer_provider, tracing_interceptors

log = logging.getLogger("stepdown.api")
SHUTDOWN_GRACE_SECONDS = 5.0

DESCRIPTION = """\
ASAM step-down episodes: intake, payer decisions (signed webhooks), services and claims,
and the ops views. `Authorization: Bearer <token>`; each token has one role (intake,
billing, ops, admin). Every error is `application/problem+json` (RFC 9457); bodies over
1 MiB get 413. Every response carries `X-Request-ID` (yours, if you sent a valid one).
"""


def create_app(
    settings: Settings | None = None,
    *,
    deps: ApiDeps | None = None,
    tracing: TracerProvider | None = None,
) -> FastAPI:
    """The app; without `deps` its lifespan connects to Temporal and the database.

    `tracing` (default: from STEPDOWN_OTLP_ENDPOINT, off when unset) traces each request.
    """
    app = FastAPI(
        title="stepdown",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by api.docs from local assets: the default pages load them from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings or get_settings()
    app.state.deps = deps
    app.state.tracing = tracing or tracer_provider(app.state.settings, "stepdown-api")
    # Made at first use (auth.throttles_of), over the deps' shared counts.
    app.state.throttles = None
    install_problem_handlers(app)
    app.add_exception_handler(RequestValidationError, auth.on_validation)
    modules = (episodes, actions, billing, webhooks, ops, claims, notifications, payers)
    people = (reports, owners, notes, attachments)
    for module in (*modules, submissions, attendance, *people):
        app.include_router(module.router)
    app.include_router(console.router)
    docs.install(app)
    app.include_router(make_codec_router(codec_access(app.state.settings), ClientCodec(app)))
    # The last added runs first: every answer, a 413 included, gets an id and is counted.
    app.add_middleware(BodyLimitMiddleware)
    codec_cors_middleware(app, app.state.settings.ui_origin())
    app.add_middleware(ObserveMiddleware)
    trace_http(app, app.state.tracing)
    return app


class ClientCodec(PayloadCodec):
    """The payload codec of the Temporal client this app reads histories through.

    Resolved per call: the client exists only once the lifespan (or a test) provided it.
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def _codec(self) -> PayloadCodec | None:
        deps: ApiDeps = self._app.state.deps
        return deps.episodes.client.data_converter.payload_codec

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        codec = self._codec()
        return await codec.encode(payloads) if codec else list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        codec = self._codec()
        return await codec.decode(payloads) if codec else list(payloads)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        if app.state.deps is None:
            interceptors = tracing_interceptors(app.state.tracing)
            app.state.deps = await stack.enter_async_context(
                production_deps(settings, interceptors)
            )
        timeout = settings.temporal_timeout_seconds
        # A request still answering its own delivery is left alone for twice its timeout.
        # A signature stays valid up to `tolerance` either side of now: keep it twice that.
        kept = timedelta(seconds=2 * settings.webhook_tolerance_seconds + 60)
        redelivery = Redelivery(app.state.deps, timeout, timedelta(seconds=2 * timeout), kept)
        stop = asyncio.Event()
        loop = asyncio.create_task(redelivery.run(settings.redelivery_interval_seconds, stop))
        polling = start_mailbox_poller(settings, app.state.deps, stop)
        scanning = start_stuck_scan(settings, app.state.deps, stop)
        try:
            yield
        finally:
            await _stop(loop, stop)
            for task in (polling, scanning):
                if task is not None:
                    await _stop(task, stop)


def start_mailbox_poller(
    settings: Settings, deps: ApiDeps, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """The clearinghouse mailbox poller, unless its interval is 0 or there is no X12 ledger
    or mailbox."""
    interval = settings.mailbox_poll_interval_seconds
    if interval <= 0 or deps.x12_ledger is None or deps.mailbox is None:
        return None
    poller = MailboxPoller(deps, deps.mailbox, deps.x12_ledger, settings.temporal_timeout_seconds)
    return asyncio.create_task(poller.run(interval, stop))


def start_stuck_scan(
    settings: Settings, deps: ApiDeps, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """Finds episodes whose workflow task keeps failing, unless its interval is 0."""
    interval = settings.stuck_scan_interval_seconds
    if interval <= 0:
        return None
    deps.stuck = StuckScan(deps.episodes.client, deps.metrics)
    return asyncio.create_task(deps.stuck.run(interval, stop))


async def _stop(loop: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Lets a round in progress finish briefly, then cancels it: both loops are idempotent."""
    stop.set()
    try:
        await asyncio.wait_for(loop, SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("redelivery loop cancelled at shutdown; its deliveries stay queued")


def codec_access(settings: Settings) -> Callable[..., Callable[..., Any]]:
    """Who may use `/codec`: ops and admin; in dev mode also the local Temporal UI, which
    sends no token — but only while every key is the public dev key, so nothing is exposed.
    A real key configured in dev mode seals real data: then the codec wants a token too."""
    public = decode_payload_key(DEV_PAYLOAD_KEY)
    if not settings.dev_mode or set(settings.payload_keyring().values()) != {public}:
        return auth.allow

    def anyone(*roles: str) -> Callable[[], None]:
        def admit() -> None:
            return None

        return admit

    return anyone

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
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from api import auth, console, docs
from api.codec import codec_cors_middleware, make_codec_router
from api.deps import ApiDeps, production_deps
from api.middleware import BodyLimitMiddleware, ObserveMiddleware
from api.problems import install_problem_handlers
from api.redelivery import Redelivery
from api.routes import (
    actions,
    attachments,
    billing,
    episodes,
    notes,
    ops,
    owners,
    reports,
    webhooks,
)
from settings import Settings, get_settings

log = logging.getLogger("stepdown.api")
SHUTDOWN_GRACE_SECONDS = 5.0

DESCRIPTION = """\
ASAM step-down episodes: intake, payer decisions (signed webhooks), services and claims,
and the ops views. `Authorization: Bearer <token>`; each token has one role (intake,
billing, ops, admin). Every error is `application/problem+json` (RFC 9457); bodies over
1 MiB get 413. Every response carries `X-Request-ID` (yours, if you sent a valid one).
"""


def create_app(settings: Settings | None = None, *, deps: ApiDeps | None = None) -> FastAPI:
    """The app; without `deps` its lifespan connects to Temporal and the database."""
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
    app.state.throttles = auth.make_throttles(app.state.settings)
    install_problem_handlers(app)
    app.add_exception_handler(RequestValidationError, auth.on_validation)
    for module in (episodes, actions, billing, webhooks, ops, reports, owners, notes, attachments):
        app.include_router(module.router)
    app.include_router(console.router)
    docs.install(app)
    app.include_router(make_codec_router(codec_access(app.state.settings), ClientCodec(app)))
    # The last added runs first: every answer, a 413 included, gets an id and is counted.
    app.add_middleware(BodyLimitMiddleware)
    codec_cors_middleware(app, app.state.settings.ui_origin())
    app.add_middleware(ObserveMiddleware)
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
            app.state.deps = await stack.enter_async_context(production_deps(settings))
        timeout = settings.temporal_timeout_seconds
        # A request still answering its own delivery is left alone for twice its timeout.
        redelivery = Redelivery(app.state.deps, timeout, timedelta(seconds=2 * timeout))
        stop = asyncio.Event()
        loop = asyncio.create_task(redelivery.run(settings.redelivery_interval_seconds, stop))
        try:
            yield
        finally:
            await _stop(loop, stop)


async def _stop(loop: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Lets a round in progress finish briefly, then cancels it: redelivery is idempotent."""
    stop.set()
    try:
        await asyncio.wait_for(loop, SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("redelivery loop cancelled at shutdown; its deliveries stay queued")


def codec_access(settings: Settings) -> Callable[..., Callable[..., Any]]:
    """Who may use `/codec`: ops and admin; in dev mode also the local Temporal UI, which
    sends no token — dev payloads are sealed with the public dev key, so nothing is exposed."""
    if not settings.dev_mode:
        return auth.allow

    def anyone(*roles: str) -> Callable[[], None]:
        def admit() -> None:
            return None

        return admit

    return anyone

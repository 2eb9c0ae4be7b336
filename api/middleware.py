"""ASGI middleware: the 1 MiB body limit, and request ids, metrics and audit around each request."""

from __future__ import annotations

import json
import logging
import re
import uuid
from time import perf_counter
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import audit_entry
from api.deps import ApiDeps, blocking
from api.problems import PROBLEM_JSON, problem_body, traceback_only

log = logging.getLogger("stepdown.api")

MAX_BODY_BYTES = 1024 * 1024
# Answers that carry PHI, or show who touched which episode: no cache (browser, proxy) keeps them.
NO_STORE_ROUTES = frozenset(
    {
        "episode.view",
        "episode.events",
        "episode.history",
        "episode.search",
        "audit",
        "console.episode",
        "console.worklist",
        "console.intake_form",
        "console.intake",
        "console.action",
    }
)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413)


class BodyLimitMiddleware:
    """413 for a declared Content-Length over the limit, or once the streamed body passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)

    async def _too_large(self, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes; send a smaller body"
        body = json.dumps(problem_body(413, "too_large", detail)).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class ObserveMiddleware:
    """Gives every request an id (X-Request-ID), counts it by route, and audits changes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id = _request_id(scope)
        status = 500
        started = perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Request-ID", request_id)
                if getattr(scope.get("route"), "name", None) in NO_STORE_ROUTES:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            deps: ApiDeps | None = scope["app"].state.deps
            if deps is not None:
                await _record(deps, scope, status, perf_counter() - started)


def _request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get("x-request-id", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def _record(deps: ApiDeps, scope: Scope, status: int, seconds: float) -> None:
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope["method"]
    deps.metrics.inc("stepdown_http_requests_total", method=method, route=route, status=str(status))
    deps.metrics.observe(
        "stepdown_http_request_duration_seconds", seconds, method=method, route=route
    )
    if scope.get("state", {}).get("audited"):
        return  # written by the route with what it changed (the webhook's inbox row)
    entry = audit_entry(scope, status, deps.clock())
    if entry is None:
        return
    try:
        await blocking(deps.audit_log.append, entry)
    except Exception as err:
        # The answer is already sent: the entry (ids, never PHI) goes to the log instead, so a
        # database outage leaves the trail recoverable rather than silently shorter.
        log.error("audit append failed; entry %s: %s", entry.model_dump_json(), traceback_only(err))

"""The Temporal codec-server endpoints, so the Temporal UI can show decrypted histories to ops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from workflows.codec import UndecryptablePayload

PREFIX = "/codec"
ROLES = ("ops", "admin")
# What the Temporal UI sends: the namespace, a JSON body and, when configured, a token.
UI_HEADERS = ["authorization", "content-type", "x-namespace"]
Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]

PAYLOADS_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["payloads"],
                    "properties": {
                        "payloads": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "metadata": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                        "description": "values base64-encoded",
                                    },
                                    "data": {"type": "string", "description": "base64"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}


def make_codec_router(
    require_roles: Callable[..., Callable[..., Any]], codec: PayloadCodec
) -> APIRouter:
    """`POST /codec/encode` and `/codec/decode` (Temporal codec-server protocol), ops and admin.

    `require_roles(*roles)` returns the dependency that admits those roles (401/403 otherwise).
    """
    router = APIRouter(prefix=PREFIX, tags=["codec"], dependencies=[Depends(require_roles(*ROLES))])

    @router.post("/encode", openapi_extra=PAYLOADS_SCHEMA)
    async def encode(request: Request) -> dict[str, Any]:
        """Encrypt payloads with the active key (the UI uses it to start or signal workflows)."""
        return await _transform(request, codec.encode)

    @router.post("/decode", openapi_extra=PAYLOADS_SCHEMA)
    async def decode(request: Request) -> dict[str, Any]:
        """Decrypt payloads with whichever key sealed them; plain payloads come back as sent."""
        return await _transform(request, codec.decode)

    return router


async def _transform(request: Request, transform: Transform) -> dict[str, Any]:
    payloads = Payloads()
    try:
        json_format.Parse(await request.body(), payloads)
    except (json_format.ParseError, UnicodeDecodeError) as err:
        raise HTTPException(
            400, f'the body is not {{"payloads": [...]}} protobuf JSON: {err}'
        ) from None
    try:
        done = await transform(payloads.payloads)
    except UndecryptablePayload as err:
        raise HTTPException(400, str(err)) from None
    # Built per payload so an empty list still answers {"payloads": []}.
    return {"payloads": [json_format.MessageToDict(p) for p in done]}


class CodecCORSMiddleware:
    """CORS for the codec endpoints only: the UI origin may call them, not the rest of the API."""

    def __init__(self, app: ASGIApp, origin: str, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin],
            allow_methods=["POST"],
            allow_headers=UI_HEADERS,
            # The UI's "include cross-origin credentials" setting sends cookies along.
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def codec_cors_middleware(app: FastAPI, origin: str, prefix: str = PREFIX) -> None:
    """Let the Temporal UI at `origin` (e.g. settings.ui_origin()) call the codec endpoints."""
    app.add_middleware(CodecCORSMiddleware, origin=origin, prefix=prefix)

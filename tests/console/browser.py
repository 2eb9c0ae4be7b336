"""Browser-test support: Debian's Chromium through Playwright, and the app on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = Path("/usr/bin/chromium")
# axe-core from the npm registry (package.json; `make browser` runs npm ci).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skips without Chromium, unless REQUIRE_BROWSER is set (as CI does): then it fails."""
    required = os.environ.get("REQUIRE_BROWSER", "") not in ("", "0")
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing; `make browser` installs Debian's chromium package"
        if required:
            pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason, allow_module_level=True)
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing; run `make install` (dev extra)")


class QuietServer(uvicorn.Server):
    """uvicorn inside the test's event loop, leaving pytest's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a free port of 127.0.0.1 (the socket is bound first, so no race); its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def chromium_context(prefix: str, **options: Any) -> AsyncIterator[Any]:
    """A fresh Chromium profile at 1280 px, closed afterwards; `options` go to Playwright."""
    import tempfile

    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix=prefix) as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                **options,
            )
            try:
                yield context
            finally:
                await context.close()


def require_axe() -> Path:
    """axe-core's bundle, or a skip (a failure under REQUIRE_BROWSER) when npm never ran."""
    if not AXE.is_file():
        reason = f"{AXE} is missing; `make browser` installs axe-core with npm ci"
        if os.environ.get("REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    return AXE

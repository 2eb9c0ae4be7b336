"""Processes the fault scenarios start, stop and kill: the Temporal dev server and workers."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client

from tests.support.procs import free_port, stop_process
from tests.support.temporal import find_binary
from workflows.temporal import DATA_CONVERTER, SEARCH_ATTRIBUTES, register_search_attributes

ATTRIBUTE_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}


class TemporalServer:
    """`temporal server start-dev` on a persistent SQLite file, on the same port across restarts."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        command = [find_binary("temporal"), "server", "start-dev", "--headless"]
        command += ["--ip", "127.0.0.1", "--port", str(self.port), "--log-level", "error"]
        command += ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
        command += ["--db-filename", str(self.db_file)]
        for key in SEARCH_ATTRIBUTES:
            kind = ATTRIBUTE_TYPES[key.indexed_value_type.name]
            command += ["--search-attribute", f"{key.name}={kind}"]
        return command

    async def start(self, timeout: float = 60.0) -> None:
        assert self._proc is None, "already running"
        self._proc = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await Client.connect(self.address, data_converter=DATA_CONVERTER)
                await register_search_attributes(client, client.namespace)
                return
            except Exception:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace=15)
            self._proc = None

    async def client(self) -> Client:
        return await Client.connect(self.address, data_converter=DATA_CONVERTER)


@asynccontextmanager
async def temporal_server(directory: Path) -> AsyncIterator[TemporalServer]:
    server = TemporalServer(directory / "temporal.db")
    await server.start()
    try:
        yield server
    finally:
        server.stop()

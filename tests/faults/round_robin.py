"""A round-robin TCP load balancer on its own thread, in front of several API replicas.

Each new connection goes to the next backend; a backend that refuses the connection (its
process is gone) is skipped for the next one, as a load balancer's health check would.
Connections already open to a backend that dies are dropped with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from tests.support.procs import free_port

CHUNK = 64 * 1024


class RoundRobin:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = free_port()
        # Connections each backend port took: shows the load was spread.
        self.served: Counter[int] = Counter()
        self._next = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=10)

    def start(self) -> None:
        self._thread.start()
        self._run(self._listen())

    def close(self) -> None:
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self.backends:
            port = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                connection = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.served[port] += 1
            return connection
        return None

    async def _pipe(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        backend = await self._connect()
        if backend is None:
            client_w.transport.abort()
            return
        server_r, server_w = backend
        await asyncio.gather(_copy(client_r, server_w), _copy(server_r, client_w))


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@contextmanager
def round_robin(backends: list[int]) -> Iterator[RoundRobin]:
    balancer = RoundRobin(backends)
    balancer.start()
    try:
        yield balancer
    finally:
        balancer.close()

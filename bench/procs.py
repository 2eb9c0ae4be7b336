"""The processes a benchmark run starts: dev servers, worker processes and the API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from workflows.temporal import (
    DATA_CONVERTER,
    EAGER_ACTIVITIES,
    SEARCH_ATTRIBUTES,
    register_search_attributes,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.prefix, "bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process used so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.pid}")

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def spawn(args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Process:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(args), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env or dict(os.environ)
        )
    return Process(popen, log)


@dataclass
class DevServer:
    process: Process
    address: str
    client: Client
    workers: list[Process] = field(default_factory=list)


def database_files(workdir: Path) -> list[Path]:
    """The dev server's SQLite files under `workdir` (the database and its WAL, if any)."""
    return sorted(workdir.glob("temporal-*.db*"))


async def start_dev_server(workdir: Path, sqlite: bool) -> DevServer:
    """`temporal server start-dev`, in memory or on a SQLite file under `workdir`."""
    port = free_port()
    args = [str(BIN / "temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    args += ["--port", str(port), "--http-port", str(free_port())]
    args += ["--metrics-port", str(free_port()), "--log-level", "error"]
    # Eager activity execution, as `stepdown dev` and the cluster run it (devstack/stack.py).
    args += ["--dynamic-config-value", f"{EAGER_ACTIVITIES}=true"]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={_sa_type(key.indexed_value_type.name)}"]
    if sqlite:
        args += ["--db-filename", str(workdir / f"temporal-{port}.db")]
    process = spawn(args, workdir / f"server-{port}.log")
    address = f"127.0.0.1:{port}"
    client = await _connect(address, process)
    await register_search_attributes(client, client.namespace)
    return DevServer(process, address, client)


def _sa_type(name: str) -> str:
    return {"KEYWORD": "Keyword", "DATETIME": "Datetime"}[name]


async def _connect(address: str, process: Process, timeout: float = 60) -> Client:
    deadline = time.monotonic() + timeout
    while True:
        if process.popen.poll() is not None:
            raise RuntimeError(f"dev server exited; see {process.log}")
        try:
            return await Client.connect(address, data_converter=DATA_CONVERTER)
        except (RuntimeError, RPCError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def start_worker(
    server: DevServer,
    workdir: Path,
    queue: str,
    database_url: str | None = None,
    max_cached_workflows: int | None = None,
) -> Process:
    """A `bench.worker_proc` process polling `queue`; returns once it polls."""
    ready = workdir / f"ready-{uuid.uuid4().hex}"
    args = [sys.executable, "-m", "bench.worker_proc", "--address", server.address]
    args += ["--task-queue", queue, "--ready-file", str(ready)]
    if database_url:
        args += ["--database-url", database_url]
    if max_cached_workflows is not None:
        args += ["--max-cached-workflows", str(max_cached_workflows)]
    process = spawn(args, workdir / f"worker-{ready.name}.log")
    await _wait_for(ready, process)
    server.workers.append(process)
    return process


async def _wait_for(path: Path, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.popen.poll() is not None or time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"process did not start; see {process.log}")
        await asyncio.sleep(0.1)


def stop_workers(server: DevServer) -> None:
    while server.workers:
        server.workers.pop().stop()


def stop_server(server: DevServer) -> None:
    stop_workers(server)
    server.process.stop()

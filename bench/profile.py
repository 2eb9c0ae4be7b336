"""`python -m bench.profile`: py-spy on the worker and the API while one figure's load runs."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench.api_figures import decide, start_api
from bench.api_setup import opened_and_projected
from bench.drive import LoopRun, closed_loop, open_loop
from bench.episodes import LIFECYCLE_DAYS, lifecycle
from bench.procs import (
    BIN,
    ROOT,
    DevServer,
    Process,
    start_dev_server,
    start_worker,
    stop_server,
)
from store.db import upgrade

OUT = ROOT / "bench" / "results"
PROJECT = ("domain/", "workflows/", "activities/", "api/", "store/", "payers/")
IDLE = ("select (", "epoll_wait", "poll (", "wait (", "_worker (concurrent")


def spy(process: Process, out: Path) -> subprocess.Popen[bytes]:
    args = [str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--format", "raw"]
    args += ["--rate", "250", "--output", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_spy(popen: subprocess.Popen[bytes]) -> None:
    popen.send_signal(signal.SIGINT)
    popen.wait(120)


def summary(raw: Path, title: str, top: int = 30) -> Table:
    """Inclusive and self share of busy samples for project frames, then the top self frames."""
    inclusive, own, total = Counter[str](), Counter[str](), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(idle in frames[-1] for idle in IDLE):
            continue
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    table = Table(title=f"{title}: {total} busy samples")
    for column in ("inclusive %", "self %", "frame"):
        table.add_column(column)
    shown = [f for f, _ in inclusive.most_common() if any(p in f for p in PROJECT)][:top]
    for frame in shown:
        share = 100 * inclusive[frame] / max(total, 1)
        table.add_row(f"{share:.1f}", f"{100 * own[frame] / max(total, 1):.1f}", frame)
    for frame, n in own.most_common(top // 2):
        table.add_row("", f"{100 * n / max(total, 1):.1f}", f"[dim]{frame}[/]")
    return table


Load = Callable[[], Awaitable[LoopRun]]


async def _decisions(
    server: DevServer, queue: str, workdir: Path, rate: float, seconds: float
) -> tuple[Process, Load]:
    """Episodes awaiting a decision, and the load that decides them through the API."""
    url = f"sqlite:///{workdir / 'read-model.db'}"
    api, base = await start_api(server, queue, url, workdir)
    count = int(rate * seconds)
    ids = await opened_and_projected(
        server.client, queue, workdir / "read-model.db", count, lambda: None
    )
    start = datetime.now(UTC) - timedelta(days=LIFECYCLE_DAYS)

    async def load() -> LoopRun:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            return await open_loop(lambda i: decide(http, ids[i], start), rate, count)

    return api, load


async def profile(figure: str, seconds: float, rate: float, console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="stepdown-profile-") as tmp:
        workdir = Path(tmp)
        server = await start_dev_server(workdir, sqlite=False)
        try:
            upgrade(f"sqlite:///{workdir / 'read-model.db'}")
            queue = f"profile-{uuid.uuid4().hex}"
            url = f"sqlite:///{workdir / 'read-model.db'}"
            targets = {"worker": await start_worker(server, workdir, queue, database_url=url)}
            if figure == "decisions":
                targets["api"], load = await _decisions(server, queue, workdir, rate, seconds)
            else:

                async def load() -> LoopRun:
                    return await closed_loop(lambda: lifecycle(server.client, queue), 16, seconds)

            raw = {name: OUT / f"profile-{figure}-{name}.txt" for name in targets}
            spies = [spy(targets[name], raw[name]) for name in targets]
            await asyncio.sleep(1)  # py-spy attaches
            run = await load()
            for popen in spies:
                stop_spy(popen)
            console.print(f"{len(run.results)} done in {run.wall:.1f} s, {len(run.errors)} errors")
            for name, path in raw.items():
                console.print(summary(path, f"{figure}: {name}"))
                targets[name].stop()
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("figure", choices=("lifecycle", "decisions"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=10)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    asyncio.run(profile(args.figure, args.seconds, args.rate, Console(width=200)))


if __name__ == "__main__":
    main()

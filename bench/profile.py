"""`make profile` (python -m bench.profile decisions): py-spy on the worker and the API while
signed payer decisions arrive through the API's webhook at a steady rate (an open loop), or
(`lifecycle`) while episode lifecycles run. Writes, per process, the raw stacks
(profile-<load>-<process>.txt) and a flame graph (profile-<load>-<process>.svg) into
bench/results/, and prints where the busy samples went.

py-spy reads the other processes' memory with ptrace; where that is refused (a container
without CAP_SYS_PTRACE, or kernel.yama.ptrace_scope above 1) it says so and exits non-zero:
no flame graph is written rather than an empty one."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
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
from bench.flame import busy, write_svg
from bench.procs import (
    BIN,
    ROOT,
    DevServer,
    Process,
    start_dev_server,
    start_worker,
    stop_server,
)
from store.db import make_engine, upgrade

OUT = ROOT / "bench" / "results"
PROJECT = ("domain/", "workflows/", "activities/", "api/", "store/", "payers/")


class SpyRefused(RuntimeError):
    """py-spy could not sample a process (most often: ptrace not permitted here)."""


def spy(process: Process, out: Path) -> subprocess.Popen[bytes]:
    args = [str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--format", "raw"]
    args += ["--rate", "250", "--output", str(out)]
    with out.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def attached(popen: subprocess.Popen[bytes], out: Path, pid: int) -> None:
    """Raises SpyRefused, with py-spy's own words, when it exited instead of sampling."""
    if popen.poll() is None:
        return
    said = out.with_suffix(".log").read_text(errors="replace").strip()
    hint = ""
    if "ermission" in said or "ptrace" in said.lower():
        hint = " (ptrace refused: run as root, or with CAP_SYS_PTRACE, or ptrace_scope 0)"
    raise SpyRefused(f"py-spy could not sample pid {pid}{hint}: {said[-500:]}")


def stop_spy(popen: subprocess.Popen[bytes]) -> None:
    popen.send_signal(signal.SIGINT)
    popen.wait(120)


def summary(raw: Path, title: str, top: int = 30) -> Table:
    """Inclusive and self share of busy samples for project frames, then the top self frames."""
    inclusive, own, total = Counter[str](), Counter[str](), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not busy(frames):
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
    engine = make_engine(url)
    try:
        ids = await opened_and_projected(server.client, queue, engine, count, lambda: None)
    finally:
        engine.dispose()
    start = datetime.now(UTC) - timedelta(days=LIFECYCLE_DAYS)

    async def load() -> LoopRun:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            return await open_loop(lambda i: decide(http, ids[i], start), rate, count)

    return api, load


async def profile(figure: str, seconds: float, rate: float, out: Path, console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="stepdown-profile-") as tmp:
        workdir = Path(tmp)
        server = await start_dev_server(workdir, sqlite=True)
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

            raw = {name: out / f"profile-{figure}-{name}.txt" for name in targets}
            spies = {name: spy(targets[name], raw[name]) for name in targets}
            try:
                await asyncio.sleep(1.5)  # py-spy attaches, or exits saying why not
                for name, popen in spies.items():
                    attached(popen, raw[name], targets[name].pid)
                run = await load()
            finally:
                for popen in spies.values():
                    if popen.poll() is None:
                        stop_spy(popen)
            console.print(f"{len(run.results)} done in {run.wall:.1f} s, {len(run.errors)} errors")
            for name, path in raw.items():
                console.print(summary(path, f"{figure}: {name}"))
                title = f"stepdown {name} under the {figure} load ({rate:g}/s, {seconds:g} s)"
                flame = write_svg(path, path.with_suffix(".svg"), title)
                console.print(f"flame graph: {flame}")
                targets[name].stop()
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("figure", choices=("lifecycle", "decisions"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the outputs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console(width=200)
    try:
        asyncio.run(profile(args.figure, args.seconds, args.rate, args.out, console))
    except SpyRefused as refused:
        console.print(f"[bold red]NO PROFILE: {refused}[/]")
        sys.exit(2)


if __name__ == "__main__":
    main()

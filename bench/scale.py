"""`make bench-scale` (python -m bench.scale): many open episodes on one node.

On the dev server with a SQLite file and the PostgreSQL read model (a private schema of
127.0.0.1:5432/test, dropped after), with one worker whose workflow cache is bounded
(`--max-cached`, the worker's STEPDOWN_WORKER_MAX_CACHED_WORKFLOWS): opens `--small` episodes,
each waiting on its payer's decision deadline (a Temporal timer), measures, grows to
`--episodes` in steps while sampling memory, and measures again. Figure 8:

- worker and server RSS per open episode: (RSS at the large count − at the small) ÷ the
  episodes added; the worker's RSS at each step, and the large count's over the RSS at a
  quarter of it (past the cache's size), must stay flat: evicted workflows leave memory;
- Temporal database bytes per episode: the dev server's SQLite files (with WAL), same way;
- decision p99 with many open ÷ with few open: `--decisions` signed A1s through the API's
  webhook, an open loop at `--decision-rate`/s, for episodes opened for it at each stage;
- worklist and search p99 on PostgreSQL: `--queries` GET /worklist and GET /episodes?q=
  (a member id of an episode of the run, so the search finds one), one at a time.

The rows go into bench/results/latest.json beside those of `make bench` (source bench-scale).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import Engine, func, select
from temporalio.client import Client

from bench.__main__ import budget_row, meta
from bench.api_figures import OPS, decide, start_api
from bench.api_setup import opened_and_projected
from bench.drive import LoopRun, open_loop
from bench.episodes import open_command, start_episode
from bench.pg import private_schema
from bench.procs import (
    ROOT,
    DevServer,
    Process,
    database_files,
    start_dev_server,
    start_worker,
    stop_server,
)
from bench.report import Results, Row, table
from bench.stats import latency_ms
from store.db import make_engine
from store.schema import EpisodeRow

OUT = ROOT / "bench" / "results" / "latest.json"
SERVER = "sqlite+postgres"
OPEN_CONCURRENCY = 50
BUDGET_SECONDS = 30 * 60


@dataclass
class Opened:
    """Episodes opened so far, and a member id of each (what a search looks for)."""

    members: list[str] = field(default_factory=list)
    # Episodes opened to be decided (each already in the read model when decided).
    decided: int = 0

    @property
    def total(self) -> int:
        return len(self.members) + self.decided


@dataclass(frozen=True)
class Sample:
    """Memory and disk with `open` episodes waiting on their payer deadline."""

    open: int
    worker_rss_kib: int
    server_rss_kib: int
    database_bytes: int

    def as_dict(self) -> dict[str, int]:
        return vars(self).copy()


async def open_waiting(
    client: Client, queue: str, read_model: Engine, opened: Opened, count: int
) -> None:
    """Opens `count` more episodes (their requests go to the payer, each then waits on the
    payer's decision deadline) and waits until every one is in the read model."""
    start = datetime.now(UTC).date()
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> None:
        member = f"MBR{uuid.uuid4().hex[:12].upper()}"
        async with gate:
            await start_episode(client, queue, open_command(start, member_id=member))
        opened.members.append(member)

    await asyncio.gather(*(one() for _ in range(count)))
    await _all_projected(read_model, opened.total)


def submitted(read_model: Engine, waiting: bool = False) -> int:
    """Episodes in the read model whose request went out (`waiting`: and that wait on a
    deadline)."""
    query = select(func.count()).where(EpisodeRow.trace_number.is_not(None))
    if waiting:
        query = query.where(EpisodeRow.next_deadline.is_not(None))
    with read_model.connect() as db:
        return int(db.execute(query).scalar_one())


async def _all_projected(read_model: Engine, expected: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while submitted(read_model) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{submitted(read_model)} of {expected} episodes projected")
        await asyncio.sleep(0.5)


def sample(open_count: int, worker: Process, server: DevServer, workdir: Path) -> Sample:
    size = sum(f.stat().st_size for f in database_files(workdir))
    return Sample(open_count, worker.rss_kib(), server.process.rss_kib(), size)


@dataclass(frozen=True)
class Settings:
    episodes: int
    small: int
    max_cached: int
    decisions: int
    decision_rate: float
    queries: int


async def measure(
    server: DevServer,
    queue: str,
    read_model: Engine,
    http: httpx.AsyncClient,
    opened: Opened,
    settings: Settings,
) -> dict[str, dict[str, float]]:
    """Decision, worklist and search latency with what is open now."""
    start = datetime.now(UTC)
    ids = await opened_and_projected(
        server.client, queue, read_model, settings.decisions, lambda: None, start.date()
    )
    opened.decided += len(ids)
    run = await open_loop(
        lambda i: decide(http, ids[i], start), settings.decision_rate, settings.decisions
    )
    members = random.Random(len(opened.members)).choices(opened.members, k=settings.queries)
    worklist = await one_at_a_time(http, ["/worklist"] * settings.queries, None)
    search = await one_at_a_time(http, [f"/episodes?q={m}" for m in members], 1)
    return {
        "decision_ms": _checked(run),
        "worklist_ms": _checked(worklist),
        "search_ms": _checked(search),
    }


async def one_at_a_time(http: httpx.AsyncClient, paths: list[str], found: int | None) -> LoopRun:
    """GETs in turn; a search must find `found` episodes (else it measured nothing)."""
    run = LoopRun()
    began = time.perf_counter()
    for path in paths:
        sent = time.perf_counter()
        answer = await http.get(path, headers=OPS)
        latency = time.perf_counter() - sent
        if answer.status_code != 200:
            run.errors.append(f"{path}: {answer.status_code} {answer.text[:200]}")
            continue
        if found is not None and len(answer.json()["episodes"]) != found:
            run.errors.append(f"{path}: {len(answer.json()['episodes'])} found, not {found}")
            continue
        run.latencies.append(latency)
        run.results.append(path)
    run.wall = time.perf_counter() - began
    return run


def _checked(run: LoopRun) -> dict[str, float]:
    if run.errors:
        raise RuntimeError(f"{len(run.errors)} requests failed, first: {run.errors[0]}")
    return latency_ms(run.latencies)


def checkpoints(small: int, large: int) -> list[int]:
    """Open counts memory is sampled at between `small` and `large`: a quarter, a half, all."""
    return sorted({small, *(max(small, large * k // 4) for k in (1, 2, 4))})


async def scale(settings: Settings, workdir: Path, console: Console) -> Results:
    out = Results(source="bench-scale")
    server = await start_dev_server(workdir, sqlite=True)
    try:
        with private_schema() as url:
            read_model = make_engine(url)
            try:
                await _scale(server, url, read_model, settings, workdir, console, out)
            finally:
                read_model.dispose()
    finally:
        stop_server(server)
    return out


async def _scale(
    server: DevServer,
    url: str,
    read_model: Engine,
    settings: Settings,
    workdir: Path,
    console: Console,
    out: Results,
) -> None:
    queue = f"bench-scale-{uuid.uuid4().hex}"
    worker = await start_worker(server, workdir, queue, url, settings.max_cached)
    _, base = await start_api(server, queue, url, workdir)
    opened = Opened()
    samples: list[Sample] = []
    measured: dict[int, dict[str, dict[str, float]]] = {}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        for target in checkpoints(settings.small, settings.episodes):
            began = time.monotonic()
            more = target - len(opened.members)
            await open_waiting(server.client, queue, read_model, opened, more)
            console.print(f"{target} open ({time.monotonic() - began:.0f} s)")
            if not samples:
                # Imports and first-use caches of every process, before any reading.
                await measure(server, queue, read_model, http, opened, _warm(settings))
            samples.append(sample(target, worker, server, workdir))
            if target in (settings.small, settings.episodes):
                measured[target] = await measure(server, queue, read_model, http, opened, settings)
                console.print(f"measured with {target} open")
        states = _states(read_model)
        with_deadline = submitted(read_model, waiting=True)
    out.details["scale"] = {
        "settings": vars(settings),
        "samples": [s.as_dict() for s in samples],
        "measured": {str(k): v for k, v in measured.items()},
        "read_model_states": states,
        "episodes_with_a_deadline": with_deadline,
    }
    out.add(*scale_rows(settings, samples, measured))


def _warm(settings: Settings) -> Settings:
    return Settings(0, 0, 0, min(settings.decisions, 5), settings.decision_rate, 5)


def _states(read_model: Engine) -> dict[str, int]:
    query = select(EpisodeRow.state, func.count()).group_by(EpisodeRow.state)
    with read_model.connect() as db:
        return {state: int(n) for state, n in db.execute(query)}


def scale_rows(
    settings: Settings, samples: list[Sample], measured: dict[int, dict[str, dict[str, float]]]
) -> list[Row]:
    small, large = settings.small, settings.episodes
    few = next(s for s in samples if s.open == small)
    many = next(s for s in samples if s.open == large)
    quarter = next(s for s in samples if s.open >= max(large // 4, small))
    added = max(large - small, 1)
    at_small, at_large = measured[small], measured[large]
    rows = [
        Row("8", "worker KiB per open episode", SERVER,
            (many.worker_rss_kib - few.worker_rss_kib) / added, "KiB",
            note=f"{small} → {large} open, cache of {settings.max_cached} workflows"),
        Row("8", "server KiB per open episode", SERVER,
            (many.server_rss_kib - few.server_rss_kib) / added, "KiB"),
        Row("8", "Temporal database bytes per episode", SERVER,
            (many.database_bytes - few.database_bytes) / added, "B"),
        Row("8", f"worker RSS at {large} open", SERVER, float(many.worker_rss_kib), "KiB",
            float(quarter.worker_rss_kib), f"at {quarter.open} open", "flat", 0.2,
            key="scale_worker_rss_flat"),
    ]  # fmt: skip
    for name, label, limit, key in (
        ("decision_ms", "decision", 1.5, "scale_decision_p99_ratio"),
        ("worklist_ms", "worklist", 2.0, "scale_worklist_p99_ratio"),
        ("search_ms", "search", 2.0, "scale_search_p99_ratio"),
    ):
        rows += [
            Row("8", f"{label} p99 at {large} open", SERVER, at_large[name]["p99"], "ms",
                at_small[name]["p99"], f"at {small} open", "at_most", limit, key=key),
            Row("8", f"{label} p50 at {large} open", SERVER, at_large[name]["p50"], "ms",
                at_small[name]["p50"], f"at {small} open"),
        ]  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--episodes", type=int, default=10_000, help="the large open count")
    parser.add_argument("--small", type=int, default=100, help="the small open count")
    parser.add_argument("--max-cached", type=int, default=1000, help="worker workflow cache")
    parser.add_argument("--decisions", type=int, default=200, help="decisions per stage")
    parser.add_argument("--decision-rate", type=float, default=5.0, help="decisions/s offered")
    parser.add_argument("--queries", type=int, default=200, help="worklist and search requests")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not 0 < args.small < args.episodes:
        parser.error("--small must be above 0 and below --episodes")
    settings = Settings(
        args.episodes, args.small, args.max_cached, args.decisions, args.decision_rate,
        args.queries,
    )  # fmt: skip
    console, began = Console(width=150), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stepdown-scale-") as tmp:
        results = asyncio.run(scale(settings, Path(tmp), console))
    results.meta = meta(False, began) | {"settings": vars(settings)}
    results.add(budget_row("make bench-scale", results.meta["seconds"], BUDGET_SECONDS))
    results.write(args.out)
    console.print(table(results.written))
    console.print(f"wrote {args.out} in {results.meta['seconds']} s")


if __name__ == "__main__":
    main()

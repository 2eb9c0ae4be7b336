"""Figures per dev server (1, 2, 5, 6, 7, and the load curves 3 and 4 on one server) as rows."""

from __future__ import annotations

import uuid
from pathlib import Path

from bench import api_figures, curve_figures
from bench.latency import Holders, projection_lags, update_round_trips
from bench.memory import memory_per_cached
from bench.phases import Phases, Sizes
from bench.procs import DevServer, start_worker
from bench.report import Results, Row
from bench.stats import latency_ms
from bench.throughput import Throughput, lifecycle_throughput, noop_throughput
from store.db import make_engine, upgrade


async def server_figures(
    server: DevServer,
    mode: str,
    sizes: Sizes,
    workdir: Path,
    phases: Phases,
    out: Results,
    curves: bool,
) -> None:
    queue = f"bench-{uuid.uuid4().hex}"
    await start_worker(server, workdir, queue)
    noop = await _noop_figures(server, mode, queue, sizes, phases, out)
    one = await _lifecycle_figures(server, mode, queue, sizes, phases, out, noop)
    await _scale_out(server, mode, queue, sizes, workdir, phases, out, one)
    database = workdir / f"read-model-{mode}.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    sql_queue = f"bench-sql-{uuid.uuid4().hex}"
    sql_worker = await start_worker(server, workdir, sql_queue, database_url=url)
    await _projection(server, mode, sql_queue, database, sizes, phases, out)
    if curves and api_figures.available():
        engine = make_engine(url)
        try:
            await curve_figures.run(
                server, mode, sql_queue, sql_worker, engine, url, sizes, workdir, phases, out
            )
        finally:
            engine.dispose()
    if mode == "memory":
        with phases.phase(f"[{mode}] 6 memory per cached episode", 2 * sizes.cached) as tick:
            memory = await memory_per_cached(server, workdir, sizes.cached, tick)
        out.details["memory_per_cached"] = memory
        out.add(
            Row("6", "worker KiB per cached episode", mode, memory["kib_per_episode"], "KiB",
                memory["kib_per_noop"], "per cached no-op"),
        )  # fmt: skip


async def _noop_figures(
    server: DevServer, mode: str, queue: str, sizes: Sizes, phases: Phases, out: Results
) -> Throughput:
    client, c = server.client, sizes.concurrency
    with phases.phase(f"[{mode}] 1 no-op workflows at concurrency {c}") as tick:
        noop = await noop_throughput(client, queue, c, sizes.duration, tick)
    updates: dict[str, dict[str, float]] = {}
    async with Holders(client, queue, 20) as holders:
        with phases.phase(f"[{mode}] 1 no-op update round trips", sizes.updates) as tick:
            updates["sequential"] = latency_ms(
                await update_round_trips(holders, sizes.updates, tick)
            )
    out.details.setdefault(mode, {}).update(noop=noop.as_dict(), noop_update_ms=updates)
    seq = updates["sequential"]
    out.add(
        Row("1", "no-op workflows/s", mode, noop.per_second, "/s"),
        Row("1", "no-op workflow tasks/s", mode, noop.tasks_per_second, "/s"),
        Row("1", "no-op update p50", mode, seq["p50"], "ms"),
        Row("1", "no-op update p99", mode, seq["p99"], "ms"),
    )
    return noop


async def _lifecycle_figures(
    server: DevServer,
    mode: str,
    queue: str,
    sizes: Sizes,
    phases: Phases,
    out: Results,
    noop: Throughput,
) -> Throughput:
    c = sizes.concurrency
    with phases.phase(f"[{mode}] 2 episode lifecycles at concurrency {c}") as tick:
        run = await lifecycle_throughput(server.client, queue, c, sizes.duration, tick)
    out.details[mode]["lifecycle"] = run.as_dict()
    out.add(
        Row("2", "episodes/s", mode, run.per_second, "/s", noop.per_second, "no-op workflows/s"),
        Row("2", "workflow tasks/s", mode, run.tasks_per_second, "/s",
            noop.tasks_per_second, "no-op tasks/s", "at_least", 0.5),
    )  # fmt: skip
    return run


async def _scale_out(
    server: DevServer,
    mode: str,
    queue: str,
    sizes: Sizes,
    workdir: Path,
    phases: Phases,
    out: Results,
    one: Throughput,
) -> None:
    """Episode lifecycles with two, then three worker processes on the same queue, as ratios
    to one worker, and the CPU one episode costs the workers and the server. On this
    machine's cores the dev server, the driver and the workers share the CPU, so the ratio
    is bounded by the cores, not by the design (docs/scaling.md)."""
    added = []
    try:
        for name in ("two", "three"):
            added.append(await start_worker(server, workdir, queue))
            with phases.phase(f"[{mode}] 7 episode lifecycles, {name} workers") as tick:
                run = await lifecycle_throughput(
                    server.client, queue, sizes.concurrency, sizes.duration, tick,
                    cpu=lambda: _cpu(server),
                )  # fmt: skip
            costs = {
                f"{group}_cpu_ms_per_episode": ms for group, ms in run.cpu_ms_per_workflow.items()
            }
            out.details[mode][f"lifecycle_{name}_workers"] = run.as_dict() | costs
            out.add(
                Row("7", f"episodes/s, {name} workers", mode, run.per_second, "/s",
                    one.per_second, "one worker"),
                Row("7", f"worker CPU ms per episode, {name} workers", mode,
                    costs["worker_cpu_ms_per_episode"], "ms"),
                Row("7", f"server CPU ms per episode, {name} workers", mode,
                    costs["server_cpu_ms_per_episode"], "ms"),
            )  # fmt: skip
    finally:
        for worker in added:
            worker.stop()
            server.workers.remove(worker)


def _cpu(server: DevServer) -> dict[str, float]:
    """CPU seconds so far of all the server's workers together, and of the server."""
    workers = sum(w.cpu_seconds() for w in server.workers)
    return {"worker": workers, "server": server.process.cpu_seconds()}


async def _projection(
    server: DevServer,
    mode: str,
    queue: str,
    database: Path,
    sizes: Sizes,
    phases: Phases,
    out: Results,
) -> None:
    total = sizes.lag_episodes * sizes.lag_updates
    with phases.phase(f"[{mode}] 5 projection lag", total) as tick:
        lags = await projection_lags(
            server.client, queue, database, sizes.lag_episodes, sizes.lag_updates, tick
        )
    lag = latency_ms(lags)
    base = out.details[mode]["noop_update_ms"]["sequential"]
    out.details[mode]["projection_lag_ms"] = lag
    out.add(
        Row("5", "projection lag p50", mode, lag["p50"], "ms", base["p50"], "no-op update p50"),
        Row("5", "projection lag p99", mode, lag["p99"], "ms", base["p99"], "no-op update p99"),
    )

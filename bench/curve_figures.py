"""Figures 1, 3 and 4 from the load curves (bench/curves.py) as table rows."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from bench.api_figures import start_api
from bench.curves import (
    ClaimReleases,
    Decisions,
    MaxRate,
    Measured,
    NoopUpdates,
    Operation,
    Processes,
    Ramp,
    Sustain,
    at_rate,
    find_max,
    run_step,
)
from bench.latency import Holders
from bench.phases import Phases, Sizes
from bench.procs import DevServer, Process
from bench.report import Results, Row

FRACTIONS = (0.25, 0.5, 0.75)
TARGET_FRACTION = 0.5
# The no-op update does not pass through the API.
NOOP_PROCESSES = ("worker", "server")
ALL_PROCESSES = ("api", "worker", "server")


async def run(
    server: DevServer,
    mode: str,
    queue: str,
    worker: Process,
    read_model: Engine,
    database_url: str,
    sizes: Sizes,
    workdir: Path,
    phases: Phases,
    out: Results,
) -> None:
    api, url = await start_api(server, queue, database_url, workdir)
    processes: Processes = {"api": api, "worker": worker, "server": server.process}
    try:
        # An open loop past what the stack sustains queues requests; let them queue here.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
        async with (
            httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http,
            Holders(server.client, queue, 20) as holders,
        ):
            decisions = Decisions(server.client, queue, read_model, http)
            ops: dict[str, Operation] = {
                "noop": NoopUpdates(holders),
                "decision": decisions,
                "claim": ClaimReleases(server.client, queue, http, decisions.decided),
            }
            await _curves(mode, ops, processes, sizes, phases, out)
    finally:
        api.stop()
        server.workers.remove(api)


async def _curves(
    mode: str,
    ops: dict[str, Operation],
    processes: Processes,
    sizes: Sizes,
    phases: Phases,
    out: Results,
) -> None:
    rules, least = Sustain(), sizes.min_samples
    maxima = {}
    for name, op in ops.items():
        ramp = Ramp(
            start=sizes.ramp_start[name],
            factor=sizes.ramp_factor,
            max_steps=sizes.ramp_steps,
            refine=sizes.ramp_refine,
            step_seconds=sizes.step_seconds,
            pause=min(1.0, sizes.step_seconds / 4),
        )
        with phases.phase(f"[{mode}] maximum sustained {name} rate") as tick:

            async def step(rate: float, op: Operation = op, tick: Any = tick) -> Any:
                return await run_step(op, rate, sizes.step_seconds, sizes.step_min_samples, tick)

            maxima[name] = await find_max(step, ramp, rules)
    decision_max = maxima["decision"].per_second or sizes.ramp_start["decision"]
    fixed: dict[float, dict[str, Measured]] = {}
    for fraction in FRACTIONS:
        rate = fraction * decision_max
        fixed[fraction] = {}
        for name, op in ops.items():
            label = f"[{mode}] {name} at {fraction:.0%} of decision max ({rate:.1f}/s)"
            with phases.phase(label) as tick:
                fixed[fraction][name] = await at_rate(
                    op, rate, sizes.fixed_seconds, least, processes, tick
                )
    out.details.setdefault(mode, {})["curves"] = {
        "sustain_rules": asdict(rules),
        "maxima": {name: m.as_dict() for name, m in maxima.items()},
        "fixed": {
            f"{fraction:.0%}": {name: m.as_dict() for name, m in by_op.items()}
            for fraction, by_op in fixed.items()
        },
    }
    out.add(*rows(mode, maxima, fixed))


FLOOR = "a floor: the ramp never failed"


def rows(
    mode: str, maxima: dict[str, MaxRate], fixed: dict[float, dict[str, Measured]]
) -> list[Row]:
    """The table rows of the curves: maxima as ratios to the no-op's, latency and CPU at the
    fixed rates as ratios to the no-op update at the same offered rate."""
    noop_max = maxima["noop"].per_second
    notes = {name: FLOOR if m.ceiling else "" for name, m in maxima.items()}
    out = [
        Row("1", "max sustained no-op updates/s", mode, noop_max, "/s", note=notes["noop"]),
        Row("3", "max sustained decisions/s", mode, maxima["decision"].per_second, "/s",
            noop_max, "max no-op updates/s", "at_least", 0.25, key="max_decision_ratio",
            note=notes["decision"]),
        Row("4", "max sustained claim releases/s", mode, maxima["claim"].per_second, "/s",
            noop_max, "max no-op updates/s", note=notes["claim"]),
    ]  # fmt: skip
    for fraction, by_op in fixed.items():
        at = f"at {fraction:.0%} of decision max"
        target = fraction == TARGET_FRACTION
        noop = by_op["noop"].step
        out.append(Row("1", f"no-op update p99 {at}", mode, noop.p99, "ms"))
        for figure, name, label, limit, key in (
            ("3", "decision", "decision", 2.0, "decision_p99_ratio"),
            ("4", "claim", "claim release", 1.5, "claim_p99_ratio"),
        ):
            step = by_op[name].step
            out += [
                Row(figure, f"{label} p99 {at}", mode, step.p99, "ms", noop.p99,
                    f"no-op update p99 {at}", "at_most" if target else None,
                    limit if target else None, key=key if target else ""),
                Row(figure, f"{label} p50 {at}", mode, step.p50, "ms", noop.p50,
                    f"no-op update p50 {at}"),
            ]  # fmt: skip
        if target:
            out += cpu_rows(mode, by_op)
    return out


def cpu_rows(mode: str, by_op: dict[str, Measured]) -> list[Row]:
    noop = by_op["noop"]
    noop_all = noop.total_cpu_ms(NOOP_PROCESSES)
    out = [Row("1", "CPU ms per no-op update, worker + server", mode, noop_all, "ms")]
    for figure, name, label, limit in (
        ("3", "decision", "decision", 4.0),
        ("4", "claim", "claim release", None),
    ):
        measured = by_op[name]
        out.append(
            Row(figure, f"CPU ms per {label}, all processes", mode,
                measured.total_cpu_ms(ALL_PROCESSES), "ms", noop_all,
                "no-op update, worker + server", "at_most" if limit else None, limit,
                key="decision_cpu_ratio" if limit else "")
        )  # fmt: skip
        for process in ALL_PROCESSES:
            base = noop.cpu_ms[process] if process in NOOP_PROCESSES else None
            out.append(
                Row(figure, f"CPU ms per {label}, {process}", mode, measured.cpu_ms[process],
                    "ms", base, f"no-op update, {process}" if base is not None else "")
            )  # fmt: skip
    return out

"""`make bench`: runs every figure against its same-run baseline, prints and saves the table."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.figures import server_figures
from bench.growth import growth
from bench.phases import QUICK, Phases, Sizes
from bench.procs import ROOT, start_dev_server, stop_server
from bench.report import Results, Row, table
from workflows.models import EpisodeInput

DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"
SERVERS = ("memory", "sqlite")


async def run(
    sizes: Sizes, servers: tuple[str, ...], curves_on: str, can_after: int, phases: Phases
) -> Results:
    results = Results()
    with tempfile.TemporaryDirectory(prefix="stepdown-bench-") as tmp:
        for mode in servers:
            with phases.phase(f"[{mode}] start dev server", 1) as tick:
                server = await start_dev_server(Path(tmp), sqlite=mode == "sqlite")
                tick()
            try:
                curves = mode == curves_on
                await server_figures(server, mode, sizes, Path(tmp), phases, results, curves)
            finally:
                stop_server(server)
    try:
        await growth_figures(sizes, can_after, phases, results)
    except Exception as err:
        # The other figures are kept; the growth targets are then written as not run.
        results.details["growth"] = {"error": f"{type(err).__name__}: {err}"}
        logging.getLogger("bench").exception("growth figures failed")
    return results


async def growth_figures(sizes: Sizes, can_after: int, phases: Phases, results: Results) -> None:
    label = "6 growth: record and replay (time-skipping server)"
    with phases.phase(label, len(sizes.months)) as tick:
        found = await growth(sizes.months, can_after, sizes.replays, tick)
    results.details["growth"] = {"continue_as_new_after_events": can_after, "episodes": found}
    results.add(*growth_rows(sizes.months, found))


# History per run must not grow with the episode's length (continue-as-new keeps it flat),
# compared from 3 months on; a run's history stays under 100 KB.
FLAT_FROM_MONTHS = 3
MAX_RUN_BYTES = 100_000


def growth_rows(months: tuple[int, ...], found: dict[str, dict[str, float]]) -> list[Row]:
    base = FLAT_FROM_MONTHS if FLAT_FROM_MONTHS in months[:-1] else months[0]
    first, rows = found[f"{base}mo"], []
    for m in months[months.index(base) + 1 :]:
        now = found[f"{m}mo"]
        key = "history_events_flat" if m == months[-1] else ""
        rows += [
            Row("6", f"history events per run, {m} mo", "time-skipping",
                now["events_per_run_max"], "events", first["events_per_run_max"],
                f"{base} mo", "flat", 0.2, key=key),
            Row("6", f"replay ms per run, {m} mo", "time-skipping",
                now["replay_ms_per_run_max"], "ms", first["replay_ms_per_run_max"],
                f"{base} mo", "flat", 0.2),
        ]  # fmt: skip
    last = months[-1]
    rows.append(
        Row("6", f"history bytes per run, {last} mo", "time-skipping",
            found[f"{last}mo"]["bytes_per_run_max"], "B", first["bytes_per_run_max"],
            f"{base} mo", "at_most", MAX_RUN_BYTES, target_of="value", key="history_bytes"),
    )  # fmt: skip
    return rows


# The whole of `make bench` on two cores.
BUDGET_SECONDS = 15 * 60


def budget_row(command: str, seconds: float, budget: float) -> Row:
    """The command's own wall time against its budget (a run past it must be cut down)."""
    return Row("0", f"{command} wall time", "", seconds, "s", target_kind="at_most",
               target=budget, target_of="value")  # fmt: skip


def meta(quick: bool, began: float) -> dict[str, Any]:
    return {
        "quick": quick,
        "finished": datetime.now(UTC).isoformat(),
        "seconds": round(time.monotonic() - began, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for smoke tests")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument(
        "--curves-on",
        choices=SERVERS,
        default="sqlite",
        help="the dev server the load curves (figures 3 and 4) run on; one, for time",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--can-after",
        type=int,
        default=EpisodeInput.model_fields["continue_as_new_after_events"].default,
        help="domain events per run before continue-as-new, for the growth figure",
    )
    args = parser.parse_args()
    sizes, began = QUICK if args.quick else Sizes(), time.monotonic()
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a log file keeps each row on one line
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    progress = Progress(*columns, TimeElapsedColumn(), console=console, disable=args.no_progress)
    with progress:
        found = run(sizes, tuple(args.servers), args.curves_on, args.can_after, Phases(progress))
        results = asyncio.run(found)
    results.meta = meta(args.quick, began)
    results.add(budget_row("make bench", results.meta["seconds"], BUDGET_SECONDS))
    results.write(args.out)
    console.print(table(results.written))
    console.print(f"wrote {args.out} in {results.meta['seconds']} s")


if __name__ == "__main__":
    main()

"""Runs every fault scenario outside pytest and writes docs/reliability.md (reliability-report)."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.faults import (
    scenario_database_outage,
    scenario_intake_fuzz,
    scenario_parser_fuzz,
    scenario_scale_out,
    scenario_security,
    scenario_temporal_restart,
    scenario_webhook_storm,
    scenario_worker_kill,
)
from tests.faults.ledger import FaultResult
from tests.faults.servers import temporal_server
from tests.support.db import postgres_problem, postgres_url
from tests.support.procs import ROOT

OUTPUT = ROOT / "docs" / "reliability.md"
HOW = {
    "Worker SIGKILLed inside payer submissions": (
        "A worker process whose file-backed payer hangs inside the first attempt of every "
        "submission is SIGKILLed while all of them are open; a new worker process takes over "
        "(activity start-to-close 2 s) and is sent the decisions at once, so the retried "
        "submissions and the decisions meet in the workflow task after the dead worker's "
        "sticky task timed out. Two more SIGKILLs follow while services and then discharges "
        "are in flight, each followed by a new worker process that replays every history "
        "cold. Each episode is then approved, billed, discharged and closed, and every "
        "history is replayed with `Replayer`. Lost: a request the episode made that the "
        "payer never accepted; doubled: a key the payer accepted more than once, or one the "
        "episode never made; stuck: a history that does not replay (its episode would sit in "
        "a failing workflow task)."
    ),
    "Temporal dev server stopped and restarted on its file": (
        "Half the episodes are decided, then the dev server is stopped; the other half's "
        "decisions arrive (some twice) while it is down and must be answered `queued`. The "
        "server restarts on the same SQLite file and port; the API's redelivery loop applies "
        "the queued ones and every episode is carried on to `closed`."
    ),
    "PostgreSQL unreachable (TCP proxy cut)": (
        "The API and the worker reach PostgreSQL through a TCP proxy that is cut (connections "
        "dropped and refused) for a few seconds. Payers keep sending decisions and retry on "
        "503; intake and a cancel go on, since they need only Temporal. After the restore the "
        "read model must hold every event of every episode, seq 1..version without gaps."
    ),
    "1,000 webhooks: duplicates, shuffled, concurrent": (
        "Each episode gets one decisive answer (A1 or A3) or only pends, plus pends (A4) and "
        "notices (CT, NA) that apply while the request waits and are refused (409) once it "
        "is decided; a fifth of the sends repeat earlier deliveries; all are shuffled and "
        "sent 16 at a time in JSON, Da Vinci PAS and X12 278. Lost/doubled are counted from "
        "the events each delivery id produced in the read model."
    ),
    scenario_scale_out.FAULT: (
        "Separate processes: 2 API replicas (uvicorn) behind a round-robin TCP balancer, 3 "
        "workers (`python -m worker`), the dev server and the PostgreSQL read model. Each "
        "episode is opened, approved by a signed webhook, billed a service, claimed and "
        "discharged over HTTP, 6 at a time; when a third are authorized one worker and one "
        "API replica are SIGKILLed. The client retries an unanswered call with the same "
        "identity (episode, delivery, service and claim ids, Idempotency-Key). Lost: a "
        "request answered with success whose event is missing; doubled: an event twice."
    ),
    "Bad input: payer parsers fuzzed (hypothesis)": (
        "Hypothesis draws arbitrary bytes, arbitrary JSON, valid documents with one node "
        "replaced, truncated or overwritten bodies and X12 segment soup for each parser, and "
        "valid decisions that must be read back exactly (FUZZ_EXAMPLES per parser)."
    ),
    "Bad input: intake bodies fuzzed over HTTP": (
        "Hypothesis breaks valid intake bodies (fields deleted, replaced by junk JSON or by "
        "values the domain refuses, unknown fields added) and each is sent to POST /episodes; "
        "afterwards every refused body's episode id must be unknown to Temporal and to the "
        "read model."
    ),
    scenario_security.FAULT: (
        "The security section. Replays: a pend is captured in flight, the information is "
        "sent, then the captured signed message is re-sent under new delivery ids (twice "
        "whole, once with a junk v1 added) and must be answered as a duplicate of the first "
        "and never applied. Unmatched: decisions sent before their episode was opened are "
        "answered 404, then half are retried by the payer and the rest must be applied by "
        "one redelivery round. Reused ids: a delivery id sent again with another body must "
        "be 409. Bad input: dates and instants off the calendar (years 1 and 9999, 1850), "
        "crafted cursors, absurd decision dates and units, unauthenticated garbage bodies; "
        "none may be accepted and none may be a 500."
    ),
}


def workdir(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir()
    return path


async def database_outage(client: Client) -> FaultResult:
    try:
        return await scenario_database_outage.run(client)
    except pytest.skip.Exception as skipped:
        fault = "PostgreSQL unreachable (TCP proxy cut)"
        return FaultResult(fault, {}, 0, 0, 0.0, skipped=f"not run: {skipped.msg}")


async def scale_out(client: Client, address: str, base: Path) -> FaultResult:
    try:
        return await scenario_scale_out.run(client, address, workdir(base, "scale"))
    except pytest.skip.Exception as skipped:
        return FaultResult(
            scenario_scale_out.FAULT, {}, 0, 0, 0.0, skipped=f"not run: {skipped.msg}"
        )


async def run_all(base: Path, database: str) -> list[FaultResult]:
    async with temporal_server(workdir(base, "temporal")) as server:
        client = await server.client()
        kill = workdir(base, "kill")
        results = [await scenario_worker_kill.run(client, server.address, kill)]
        results.append(await scenario_temporal_restart.run(workdir(base, "restart"), database))
        results.append(await database_outage(client))
        results.append(await scale_out(client, server.address, base))
        storm = workdir(base, "storm")
        results.append(await scenario_webhook_storm.run(client, storm, database))
        results.append(scenario_parser_fuzz.run())
        results.append(await scenario_intake_fuzz.run(client, workdir(base, "intake")))
        security = workdir(base, "security")
        results.append(await scenario_security.run(client, security, database))
    return results


RUNBOOK = [
    "## Runbook: an episode whose workflow task keeps failing",
    "",
    "**Why it happens.** A workflow task fails every time it runs: a bug in the workflow code "
    "(an exception the decider did not turn into `Rejected`), or a build that no longer "
    "replays a history (`TMPRL1100` nondeterminism: a `workflow.patched` branch removed too "
    "early, a change of command order). Temporal retries the task forever; the episode stays "
    "*running* but its updates get no answer and its deadlines do not fire.",
    "",
    "**Why a killed worker no longer causes it.** Before the effect lanes (workflows/lanes.py) "
    "the workflow issued commands in reaction to activity completions (the search-attribute "
    "upsert after its effects drained). After a SIGKILL the dead worker's sticky task times "
    "out; the next task on a new worker held both the retried activity's completion and an "
    "update, which the live run handled in two activations (upsert, then update accepted) but "
    "a cold replay handles in one, where the Python SDK runs updates first (update accepted, "
    "then upsert): `TMPRL1100 Update machine does not handle this event: "
    "UpsertWorkflowSearchAttributes` (temporalio/sdk-python#1591, sdk-rust#943). The lanes "
    "issue every command synchronously in the handler or timer that applied the events, so "
    "the order no longer depends on how sdk-core splits activations. Verified by the "
    "worker-kill scenario above: with the old runner forced back on it leaves workflow tasks "
    "failing with TMPRL1100; with the lanes 0 histories fail to replay.",
    "",
    "**How you see it.** The worklist shows a `workflow_stuck` item (the API scans every "
    "`STEPDOWN_STUCK_SCAN_INTERVAL` seconds, 300 by default), `/metrics` has "
    "`stepdown_workflows_stuck`, the worker's SDK metrics count "
    "`temporal_workflow_task_execution_failed`, and `stepdown episodes stuck` lists them "
    "with the number of failed attempts. The Temporal UI shows the failure on the episode's "
    "pending workflow task.",
    "",
    "**What to do.**",
    "",
    "1. Read the failure in the Temporal UI (or `temporal workflow describe`). If a new build "
    "caused it (nondeterminism right after a deploy), roll the workers back to the previous "
    "build: the task succeeds on its next attempt and nothing else is needed.",
    "2. If the history itself cannot go on (a bug that fails on an event already recorded, "
    "and no fixed build yet), reset the episode to its last good workflow task: "
    '`stepdown episode reset EPISODE --reason "why" --by you`. The new run starts after '
    "the last completed workflow task; signals and updates received after it are applied "
    "again by the server; the reset is kept in the audit log.",
    "3. Check the episode: `stepdown episode show EPISODE`, and `stepdown episodes stuck` no "
    "longer lists it. `stepdown events verify EPISODE` compares the event store with the "
    "live workflow.",
    "",
]


def summary(results: list[FaultResult]) -> list[str]:
    lines = [
        "| fault | load | lost | doubled | stuck | wall time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.fault} | {r.describe_load() or 'not run'} | {r.lost} | {r.doubled} "
            f"| {r.unreplayable} | {r.seconds:.1f} s |"
        )
    return lines


def section(number: int, r: FaultResult) -> list[str]:
    lines = [f"## {number}. {r.fault}", "", HOW.get(r.fault, ""), "", "| measure | value |"]
    lines += ["|---|---|"]
    lines += [f"| {name} | {value:,} |" for name, value in r.load.items()]
    lines += [f"| deliveries lost | {r.lost} |", f"| deliveries doubled | {r.doubled} |"]
    lines += [f"| wall time | {r.seconds:.1f} s |", ""]
    lines += [f"- {note}" for note in [r.skipped, *r.notes] if note]
    lines += [f"- **problem:** {problem}" for problem in r.problems[:10]]
    if r.unreplayable:
        lines.append(
            f"- **problem:** {r.unreplayable} of these histories do not replay: their episodes "
            "would be stuck at their next cold replay (see the runbook below)."
        )
    return [*lines, ""]


def render(results: list[FaultResult], database: str, seconds: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability under faults",
        "",
        f"Written by `make reliability-report` ({Path(__file__).relative_to(ROOT)}) on {when}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, temporalio "
        f"{version('temporalio')}, Temporal dev server, read model on {database}; "
        f"{seconds:.0f} s in all. Each fault runs the scenario its test in tests/faults "
        "runs. **Lost**: a delivery (or payer submission) the system acknowledged and never "
        "applied. **Doubled**: one applied more than once. Both must be 0.",
        "",
        *summary(results),
        "",
    ]
    for number, result in enumerate(results, 1):
        lines += section(number, result)
    lines += RUNBOOK
    return "\n".join(lines).rstrip() + "\n"


async def main() -> int:
    # The scenarios provoke failures on purpose; their log lines would only bury the summary.
    logging.basicConfig(handlers=[logging.NullHandler()], level=logging.WARNING)
    began = time.monotonic()
    database = "postgres" if postgres_problem(postgres_url()) is None else "sqlite"
    with tempfile.TemporaryDirectory(prefix="stepdown-faults-") as base:
        results = await run_all(Path(base), database)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(render(results, database, time.monotonic() - began))
    failed = [r.fault for r in results if r.failed]
    sys.stderr.write("\n".join(summary(results)) + f"\nwrote {OUTPUT.relative_to(ROOT)}\n")
    if failed:
        sys.stderr.write(f"faults that lost, doubled or went wrong: {failed}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

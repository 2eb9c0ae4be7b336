"""The record against Temporal: `stepdown events verify` (live comparison) and
`stepdown episode export` (the event store plus every Temporal run still retained)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import Rejected
from domain.project import episode_view
from domain.replay import same_facts
from domain.views import EpisodeView, StoredEvent
from store.event_store import SqlEventStore
from store.verify import EpisodeCheck
from workflows.client import EpisodeClient, workflow_id
from workflows.episode import EpisodeWorkflow
from workflows.models import EventsQuery

QUERY_TIMEOUT = timedelta(seconds=10)
# How long verify waits for the projection to catch up with a workflow that is ahead of it.
CATCH_UP_SECONDS = 5.0
# The view's one clock-derived field: an authorization turns "expired" when its end passes,
# with no event; the workflow computes it at its last task, the fold at the time of the check.
CLOCK_DERIVED = ("status",)


async def compare_live(
    client: Client, check: EpisodeCheck, recheck: Callable[[], EpisodeCheck]
) -> EpisodeCheck:
    """Adds to `check` how the fold of the stored events differs from the running workflow.

    `recheck` reads the episode from the database again, for a projection still catching up.
    """
    episode_id = check.episode_id
    handle = client.get_workflow_handle(workflow_id(episode_id))
    try:
        described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        check.notes.append("no workflow retained in Temporal: compared with the record only")
        return check
    if described.status != WorkflowExecutionStatus.RUNNING:
        name = described.status.name.lower() if described.status else "unknown"
        check.notes.append(f"workflow {name}: no live state to compare")
        return check
    try:
        view: EpisodeView = await handle.query(EpisodeWorkflow.view, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        check.notes.append(f"live comparison skipped: the view query failed ({err.message})")
        return check
    deadline = asyncio.get_running_loop().time() + CATCH_UP_SECONDS
    while _last_seq(check) < view.version and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        check = recheck()
    if _last_seq(check) != view.version:
        check.problems.append(
            f"{episode_id}: the event store holds seq 1..{_last_seq(check)} but the workflow "
            f"is at version {view.version}"
        )
        return check
    if check.state is None:
        return check
    this_run: list[StoredEvent] = await handle.query(
        EpisodeWorkflow.events, EventsQuery(after=0), rpc_timeout=QUERY_TIMEOUT
    )
    # Events the workflow decided after the view was read are compared next time.
    settled = [e for e in this_run if e.seq <= view.version]
    check.problems += _event_differences(episode_id, check.events, settled)
    folded = episode_view(check.state, datetime.now(UTC))
    check.problems += _view_differences(episode_id, folded, view)
    if not check.problems:
        check.notes.append(f"fold = live view at version {view.version}")
    return check


def _last_seq(check: EpisodeCheck) -> int:
    return check.events[-1].seq if check.events else 0


def _event_differences(
    episode_id: str, stored: list[StoredEvent], live: list[StoredEvent]
) -> list[str]:
    by_seq = {e.seq: e for e in stored}
    problems = []
    for event in live:
        kept = by_seq.get(event.seq)
        if kept is None:
            problems.append(f"{episode_id}: seq {event.seq} of the workflow is not stored")
        elif not same_facts(kept, event):
            problems.append(
                f"{episode_id}: seq {event.seq} ({event.type}) differs from the workflow's event"
            )
    return problems


def _comparable(view: EpisodeView) -> dict[str, Any]:
    dumped = view.model_dump(mode="json")
    if dumped.get("authorization"):
        for key in CLOCK_DERIVED:
            dumped["authorization"].pop(key, None)
    return dumped


def _view_differences(episode_id: str, folded: EpisodeView, live: EpisodeView) -> list[str]:
    mine, theirs = _comparable(folded), _comparable(live)
    return [
        f"{episode_id}: the fold's {key} is {mine[key]!r}, the live workflow's {theirs[key]!r}"
        for key in mine
        if mine[key] != theirs.get(key)
    ]


async def export_document(
    store: SqlEventStore, client: Client | None, task_queue: str, episode_id: str
) -> dict[str, Any]:
    """One JSON-able document for a records request: the record and what Temporal retains."""
    recorded = store.recorded(episode_id)
    purged = store.purged(episode_id)
    document: dict[str, Any] = {
        "episode_id": episode_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "hash_chain": "SHA-256 over the canonical JSON form documented in store/chain.py",
        "events": [
            {
                "seq": r.seq,
                "type": r.type,
                "at": r.at.isoformat(),
                "data": r.data,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in recorded
        ],
        "legal_holds": [
            {
                "reason": h.reason,
                "placed_by": h.placed_by,
                "placed_at": h.placed_at.isoformat(),
                "released_at": h.released_at.isoformat() if h.released_at else None,
                "released_by": h.released_by,
            }
            for h in store.holds(episode_id)
        ],
        "purged": None
        if purged is None
        else {
            "purged_at": purged.purged_at.isoformat(),
            "purged_by": purged.purged_by,
            "events": purged.events,
            "head_hash": purged.head_hash,
        },
    }
    document["temporal"] = await _temporal_runs(client, task_queue, episode_id)
    return document


async def _temporal_runs(client: Client | None, task_queue: str, episode_id: str) -> dict[str, Any]:
    if client is None:
        return {"available": False, "note": "Temporal unreachable: no runs exported", "runs": []}
    try:
        history = await EpisodeClient(client, task_queue).history(episode_id)
    except Rejected:
        return {"available": True, "note": "no run retained in Temporal", "runs": []}
    runs: dict[str, list[dict[str, Any]]] = {}
    for entry in history:
        runs.setdefault(entry.run_id, []).append(entry.model_dump(mode="json", exclude={"run_id"}))
    return {
        "available": True,
        "note": "every run Temporal still retains, oldest first",
        "runs": [{"run_id": run_id, "history": events} for run_id, events in runs.items()],
    }

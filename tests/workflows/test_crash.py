"""A worker killed mid-episode: a new one finishes it, nothing is duplicated or lost."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from tests.support.episode_workflow import approval, services_on, start_episode, view
from tests.support.file_state import FileState
from tests.support.procs import spawn
from workflows.episode import EpisodeWorkflow

pytestmark = pytest.mark.slow


async def wait_for(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_killed_worker_is_replaced_and_the_episode_finishes(
    dev_env: WorkflowEnvironment, tmp_path: Path
):
    address = dev_env.client.service_client.config.target_host
    queue, state_file = f"crash-{uuid.uuid4().hex}", tmp_path / "state.db"
    state = FileState(state_file)
    first = await spawn("tests.workflows.crash_worker", address, queue, str(state_file))
    handle = await start_episode(dev_env.client, queue)
    await wait_for(lambda: len(state.report()["submissions"]) == 1)  # type: ignore[arg-type]
    current = await view(handle)  # queries need a worker: read the trace number first
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    today = (await dev_env.get_current_time()).date()
    decision = c.ApplyPayerDecision.model_validate(
        {
            "delivery_id": "dlv-crash",
            "decision": {"trace_number": current.trace_number, "action": "A1", **approval(today)},
        }
    )
    pending = asyncio.create_task(
        handle.execute_update(EpisodeWorkflow.apply_payer_decision, decision, id="dlv-crash")
    )
    second = await spawn("tests.workflows.crash_worker", address, queue, str(state_file))
    try:
        assert (await asyncio.wait_for(pending, timeout=60)).status == "applied"
        await handle.execute_update(EpisodeWorkflow.record_services, services_on(today, 3))
        await handle.execute_update(
            EpisodeWorkflow.discharge,
            c.Discharge(date=today, patient_status="01", disposition="completed"),
        )
        await handle.execute_update(
            EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=today)
        )
        result = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=40)
    assert result.state == "closed"
    report = state.report()
    assert list(report["submissions"].values()) == [1]  # type: ignore[union-attr]
    assert report["seqs"] == list(range(1, result.version + 1))

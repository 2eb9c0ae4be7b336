"""EpisodeWorkflow on the real dev server: updates, dedupe, visibility, continue-as-new."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from tests.support.episode_workflow import (
    EpisodeWorker,
    approval,
    decide,
    episode_worker,
    event_types,
    services_on,
    view,
)
from workflows.client import EpisodeClient
from workflows.episode import EpisodeWorkflow


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment) -> AsyncIterator[EpisodeWorker]:
    async with episode_worker(dev_env) as worker:
        yield worker


def today() -> Any:
    return datetime.now(UTC).date()


async def test_the_same_delivery_twice_applies_once(dev: EpisodeWorker):
    handle = await dev.open()
    first = await decide(handle, "A1", delivery_id="dlv-1", **approval(today()))
    again = await decide(handle, "A1", delivery_id="dlv-1", **approval(today()))
    assert first.status == "applied"
    assert again.view.version == first.view.version
    assert (await event_types(handle)).count("authorization_granted") == 1


async def test_a_redelivery_under_a_new_update_id_is_still_applied_once(dev: EpisodeWorker):
    handle = await dev.open()
    await decide(handle, "A1", delivery_id="dlv-1", **approval(today()))
    current = await view(handle)
    cmd = c.ApplyPayerDecision.model_validate(
        {
            "delivery_id": "dlv-1",
            "decision": {"trace_number": current.trace_number, "action": "A1", **approval(today())},
        }
    )
    result = await handle.execute_update(EpisodeWorkflow.apply_payer_decision, cmd, id="other-id")
    assert result.status == "duplicate"


async def test_the_same_claim_id_twice_releases_once(dev: EpisodeWorker):
    handle = await dev.open()
    await decide(handle, "A1", **approval(today()))
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today(), 3))
    claim = c.ReleaseClaim(claim_id="C-1", through=today())
    first = await handle.execute_update(EpisodeWorkflow.release_claim, claim, id="claim-C-1")
    second = await handle.execute_update(EpisodeWorkflow.release_claim, claim, id="claim-C-1-retry")
    assert first.status == second.status == "released"
    assert first.claim == second.claim
    await _eventually(lambda: len(dev.world.outbox.delivered) == 1)
    assert (await event_types(handle)).count("claim_released") == 1


async def test_a_retro_authorization_releases_held_claims(dev: EpisodeWorker):
    handle = await dev.open()
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today(), 2))
    held = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=today())
    )
    assert held.status == "held" and held.reasons[0].code == "no_authorization"
    await decide(handle, "A1", **approval(today() - timedelta(days=1)))
    current = await view(handle)
    assert [(x.claim_id, x.status) for x in current.claims] == [("C-1", "released")]
    await _eventually(lambda: [x.claim_id for x in dev.world.outbox.delivered] == ["C-1"])


async def test_a_refused_decision_never_reaches_history(dev: EpisodeWorker):
    handle = await dev.open()
    before = await view(handle)
    cmd = c.ApplyPayerDecision.model_validate(
        {"delivery_id": "x", "decision": {"trace_number": "SD-NOT-OURS-1", "action": "A1"}}
    )
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(EpisodeWorkflow.apply_payer_decision, cmd)
    assert err.value.cause.type == "unknown_trace"  # type: ignore[attr-defined]
    history = await handle.fetch_history()
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )
    assert (await view(handle)).version == before.version


@pytest.mark.parametrize(
    ("update", "arg"),
    [
        ("apply_payer_decision", {"delivery_id": "d-1", "decision": {"action": "A1"}}),
        ("apply_payer_decision", {"delivery_id": "d-2", "decision": "A1"}),
        ("release_claim", {"claim_id": "C-1", "through": "not a date"}),
        ("record_services", {"services": [{"service_id": "S-1"}]}),
        ("discharge", ["2026-01-01"]),
    ],
)
async def test_a_malformed_update_is_refused_and_leaves_no_trace(
    dev: EpisodeWorker, update: str, arg: Any
):
    """Sent by name with a raw payload, as a client without our models might: the payload does
    not convert, the update is refused before acceptance and the episode serves on."""
    handle = await dev.open()
    before = await view(handle)

    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update, arg)

    assert "Failed decoding arguments" in str(err.value.cause), err.value.cause
    history = await handle.fetch_history()
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )
    assert (await view(handle)).version == before.version
    decided = await decide(handle, "A1", delivery_id="after-junk", **approval(today()))
    assert decided.view.state == "authorized"


async def test_happy_path_from_referral_to_closed(dev: EpisodeWorker):
    handle = await dev.open()
    await decide(handle, "A1", **approval(today()))
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today(), 3))
    await handle.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=today(), patient_status="01", disposition="step_down", to_level="1"),
    )
    claim = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-final", through=today())
    )
    assert claim.claim.type_of_bill == "0761" and claim.claim.patient_status == "01"
    result = await handle.result()
    assert result.state == "closed"
    summary = dev.world.read_model.summaries[result.episode_id]
    assert summary.state == "closed"
    seqs = sorted(seq for (ep, seq) in dev.world.read_model.events if ep == result.episode_id)
    assert seqs == list(range(1, result.version + 1))
    assert [r.purpose for r in dev.world.gateway.accepted] == ["initial"]


async def test_episodes_are_listed_by_search_attribute(dev: EpisodeWorker):
    payer = f"payer-{uuid.uuid4().hex[:8]}"
    handle = await dev.open(payer={"id": payer, "plan_type": "commercial"})
    await decide(handle, "A1", **approval(today()))
    query = f"EpisodeState = 'authorized' AND PayerId = '{payer}'"

    async def listed() -> list[str]:
        return [wf.id async for wf in dev.env.client.list_workflows(query)]

    for _ in range(50):
        if await listed() == [handle.id]:
            break
        await asyncio.sleep(0.2)
    assert await listed() == [handle.id]


async def test_long_episodes_continue_as_new_without_restarting_seq(dev: EpisodeWorker):
    handle = await dev.open(can_after=6)
    await decide(handle, "A1", **approval(today()))
    for _ in range(4):
        await handle.execute_update(EpisodeWorkflow.record_services, services_on(today()))
    await _eventually_async(lambda: _runs(dev.env, handle.id), lambda n: n >= 2)
    current = await view(handle)
    assert current.version == 7
    episode_id = current.episode_id
    await _eventually(
        lambda: (
            sorted(s for (e, s) in dev.world.read_model.events if e == episode_id)
            == list(range(1, 8))
        )
    )


async def test_long_histories_continue_as_new_before_the_history_budget(dev: EpisodeWorker):
    handle = await dev.open(history_budget=60)
    await decide(handle, "A1", **approval(today()))
    # Through the episode client, as the API sends them: an update that meets the run
    # continuing as new hears "workflow not ready" and is sent again with its id.
    episodes = EpisodeClient(dev.env.client, dev.queue)
    episode_id = handle.id.removeprefix("episode-")
    for _ in range(8):
        await episodes.update(episode_id, EpisodeWorkflow.record_services, services_on(today()))
    await _eventually_async(lambda: _runs(dev.env, handle.id), lambda n: n >= 2)
    # The budget is checked whenever the workflow wakes; the run then waits a moment for
    # effects already running, unless updates push it 20 events past the budget
    # (episode.CARRY_SLACK_EVENTS); past that come the events of the tasks in flight, more
    # of them on a loaded machine. One run of this episode would hold about 120 events.
    lengths = await _run_lengths(dev.env, handle.id)
    assert len(lengths) >= 2 and all(length <= 60 + 20 + 20 for length in lengths), lengths
    current = await view(handle)
    # Units are used only by released lines (issue 12): none was released yet.
    assert current.version == 11 and current.units.used == 0
    episode_id = current.episode_id
    await _eventually(
        lambda: (
            sorted(s for (e, s) in dev.world.read_model.events if e == episode_id)
            == list(range(1, 12))
        )
    )


async def _run_lengths(env: WorkflowEnvironment, workflow_id: str) -> list[int]:
    runs = [x async for x in env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    lengths = []
    for run in runs:
        history = await env.client.get_workflow_handle(
            workflow_id, run_id=run.run_id
        ).fetch_history()
        lengths.append(len(history.events))
    return lengths


async def _runs(env: WorkflowEnvironment, workflow_id: str) -> int:
    return len([x async for x in env.client.list_workflows(f"WorkflowId = '{workflow_id}'")])


async def _eventually(check: Any, tries: int = 50) -> None:
    for _ in range(tries):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check()


async def _eventually_async(probe: Any, ok: Any, tries: int = 50) -> None:
    for _ in range(tries):
        if ok(await probe()):
            return
        await asyncio.sleep(0.2)
    assert ok(await probe())


async def test_a_claims_first_delivery_rides_on_its_projection(dev: EpisodeWorker):
    """No `deliver_claim` activity for a released claim: the projection of `claim_released`
    queues it in the outbox in its own transaction, so a claim release costs the workflow
    tasks a decision costs; the episode still waits for that projection before it ends."""
    handle = await dev.open()
    await decide(handle, "A1", **approval(today()))
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today(), 3))

    released = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=today())
    )
    await handle.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=today(), patient_status="01", disposition="completed"),
    )
    result = await handle.result()

    assert released.status == "released" and result.state == "closed"
    [queued] = dev.world.outbox.delivered
    assert (queued.claim_id, queued.resend) == ("C-1", False)
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "deliver_claim" not in scheduled and "project_events" in scheduled

"""PHI never reaches Temporal in clear: histories, failures, ids and visibility, across rotation."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.history.v1 import History
from temporalio.api.update.v1 import Input, Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from domain import commands as c
from settings import DEV_PAYLOAD_KEY, DEV_PAYLOAD_KEY_ID, decode_payload_key
from tests.support.episode_workflow import (
    EpisodeWorker,
    approval,
    decide,
    episode_worker,
    services_on,
    start_episode,
    view,
    world,
)
from tests.support.temporal import running_worker
from workflows.codec import EncryptionCodec, converter_with
from workflows.episode import EpisodeWorkflow
from workflows.models import EpisodeInput
from workflows.temporal import DATA_CONVERTER

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*/*.json"))
COMPLETED = (
    UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
)


def today() -> date:
    return datetime.now(UTC).date()


def patient(birth_date: str = "1987-06-15") -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "id": "P-100",
        "name": f"Ada Quillfeather {tag}",
        "birth_date": birth_date,
        "member_id": f"MCD-{tag}",
    }


def phi_in(blob: bytes, p: dict[str, str]) -> list[str]:
    return [p[k] for k in ("name", "birth_date", "member_id") if p[k].encode() in blob]


def history_bytes(history: WorkflowHistory) -> bytes:
    return History(events=history.events).SerializeToString()


async def client_with(env: WorkflowEnvironment, converter: DataConverter | None = None) -> Client:
    """Another client on the same server; with no converter it sees payloads as stored."""
    target, namespace = env.client.service_client.config.target_host, env.client.namespace
    if converter is None:
        return await Client.connect(target, namespace=namespace)
    return await Client.connect(target, namespace=namespace, data_converter=converter)


async def started_input(history: WorkflowHistory, converter: DataConverter) -> EpisodeInput:
    started = history.events[0].workflow_execution_started_event_attributes
    [decoded] = await converter.decode(started.input.payloads, [EpisodeInput])
    assert isinstance(decoded, EpisodeInput)
    return decoded


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment) -> AsyncIterator[EpisodeWorker]:
    async with episode_worker(dev_env) as worker:
        yield worker


async def run_to_closed(handle: WorkflowHandle[Any, Any]) -> None:
    await decide(handle, "A1", **approval(today()))
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(today(), 2))
    discharge = c.Discharge(date=today(), patient_status="01", disposition="step_down")
    await handle.execute_update(EpisodeWorkflow.discharge, discharge)
    claim = c.ReleaseClaim(claim_id="C-final", through=today())
    await handle.execute_update(EpisodeWorkflow.release_claim, claim)
    assert (await handle.result()).state == "closed"


async def test_a_raw_history_holds_no_patient_data_yet_decodes_with_the_codec(dev: EpisodeWorker):
    p = patient()
    handle = await dev.open(patient=p)
    await run_to_closed(handle)
    raw = await client_with(dev.env)
    history = await raw.get_workflow_handle(handle.id).fetch_history()
    blob = history_bytes(history)
    assert b"binary/encrypted" in blob
    assert phi_in(blob, p) == []
    assert (await started_input(history, DATA_CONVERTER)).open.patient.name == p["name"]


async def test_a_refused_episode_fails_with_an_encrypted_message(dev: EpisodeWorker):
    p = patient(birth_date=(today() + timedelta(days=1)).isoformat())
    handle = await dev.open(patient=p)
    with pytest.raises(WorkflowFailureError) as err:
        await handle.result()
    assert isinstance(err.value.cause, ApplicationError)
    assert err.value.cause.message == "patient.birth_date must be in the past"
    history = await (await client_with(dev.env)).get_workflow_handle(handle.id).fetch_history()
    failure = history.events[-1].workflow_execution_failed_event_attributes.failure
    assert failure.message == "Encoded failure"
    blob = history_bytes(history)
    assert b"must be in the past" not in blob and phi_in(blob, p) == []
    decoded = await DATA_CONVERTER.decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == "patient.birth_date must be in the past"


async def test_an_update_refused_by_its_validator_answers_an_encrypted_failure(dev: EpisodeWorker):
    handle = await dev.open(patient=patient())
    await view(handle)  # the first workflow task has run
    command = c.ApplyPayerDecision.model_validate(
        {"delivery_id": "x", "decision": {"trace_number": "SD-NOT-OURS-1", "action": "A1"}}
    )
    args = Payloads(payloads=await DATA_CONVERTER.encode([command]))
    request = UpdateWorkflowExecutionRequest(
        namespace=dev.env.client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=handle.id),
        request=Request(
            meta=Meta(update_id=uuid.uuid4().hex),
            input=Input(name="apply_payer_decision", args=args),
        ),
        wait_policy=WaitPolicy(lifecycle_stage=COMPLETED),
    )
    raw = await client_with(dev.env)
    response = await raw.workflow_service.update_workflow_execution(request)
    failure = response.outcome.failure
    assert failure.message == "Encoded failure"
    assert b"SD-NOT-OURS-1" not in failure.SerializeToString()
    decoded = await DATA_CONVERTER.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.type == "unknown_trace"
    assert decoded.message == "trace number SD-NOT-OURS-1 is not this episode's"


async def test_ids_and_search_attributes_of_a_running_episode_hold_no_patient_data(
    dev: EpisodeWorker,
):
    p = patient()
    handle = await dev.open(patient=p)
    await decide(handle, "A1", **approval(today()))
    description = await handle.describe()
    assert description.id == f"episode-{(await view(handle)).episode_id}"
    listed = await _listed_with_state(dev.env.client, handle.id, "authorized")
    blobs = [description.raw_description.SerializeToString(), listed.SerializeToString()]
    assert [phi_in(blob, p) for blob in blobs] == [[], []]


async def _listed_with_state(client: Client, workflow_id: str, state: str) -> Any:
    """The visibility record once it shows `state` (visibility is eventually consistent)."""
    query = f"WorkflowId = '{workflow_id}' AND EpisodeState = '{state}'"
    for _ in range(50):
        found = [wf.raw_info async for wf in client.list_workflows(query)]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    pytest.fail(f"{workflow_id} never listed as {state}")


async def test_rotated_keys_decode_and_replay_a_history_sealed_with_both(dev_env):
    old_id, new_id = f"old-{uuid.uuid4().hex[:6]}", f"new-{uuid.uuid4().hex[:6]}"
    old, new = os.urandom(32), os.urandom(32)
    before = converter_with(EncryptionCodec({old_id: old}, old_id))
    after = converter_with(EncryptionCodec({old_id: old, new_id: new}, new_id))
    queue, p, w = f"tq-{uuid.uuid4().hex}", patient(), world()
    client = await client_with(dev_env, before)
    # No sticky cache: the next worker gets the episode at once, not after the sticky timeout.
    uncached = Worker(
        client,
        task_queue=queue,
        workflows=[EpisodeWorkflow],
        activities=w.activities.all(),
        max_cached_workflows=0,
    )
    async with uncached:
        handle = await start_episode(client, queue, patient=p)
        await _idle(handle)
    client = await client_with(dev_env, after)
    async with running_worker(client, w.activities, [EpisodeWorkflow], queue):
        handle = client.get_workflow_handle(handle.id)
        assert (await decide(handle, "A1", **approval(today()))).status == "applied"
    history = await handle.fetch_history()
    blob = history_bytes(history)
    assert old_id.encode() in blob and new_id.encode() in blob and phi_in(blob, p) == []
    assert (await started_input(history, after)).open.patient.name == p["name"]
    replayed = await Replayer(workflows=[EpisodeWorkflow], data_converter=after).replay_workflow(
        history
    )
    assert replayed.replay_failure is None


async def _idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Nothing in flight, so stopping the worker leaves no task to time out (10 s)."""
    for _ in range(100):
        described = (await handle.describe()).raw_description
        if not described.pending_activities and not described.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{handle.id} never became idle")


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_histories_replay_with_a_production_keyring(path: Path):
    # The files were recorded before encryption and pass through decode; the dev key is in
    # the ring so that re-recorded (dev-key encrypted) histories replay here too.
    keys = {DEV_PAYLOAD_KEY_ID: decode_payload_key(DEV_PAYLOAD_KEY), "prod-2": os.urandom(32)}
    converter = converter_with(EncryptionCodec(keys, "prod-2"))
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

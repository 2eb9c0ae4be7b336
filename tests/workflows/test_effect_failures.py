"""Effects never stop an episode: a payer outage, a refusal or a lost notification (time-skipping).

The ports here fail on purpose; the workflow, its timers and its retries run on the real
time-skipping server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from activities.ports import Notification, PayerReceipt, PayerRequest
from domain import commands as c
from tests.support.episode_workflow import event_types, start_episode, view
from tests.support.fakes import (
    RecordingClaimsOutbox,
    RecordingNotifier,
    RecordingPayerGateway,
    RecordingReadModel,
)
from tests.support.temporal import find_binary, running_worker
from workflows.episode import EpisodeWorkflow
from workflows.models import EventsQuery
from workflows.temporal import DATA_CONVERTER, register_search_attributes

MA = {"payer": {"id": "ma-plan", "plan_type": "medicare_advantage"}}


class SwitchablePayer(RecordingPayerGateway):
    """The recording payer behind a connection that can be cut (a retryable failure)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.tries = 0

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        self.tries += 1
        if self.down:
            raise ConnectionError("payer gateway unreachable")
        return await super().submit(request)


class BrokenNotifier(RecordingNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.tries = 0

    async def notify(self, notification: Notification) -> None:
        self.tries += 1
        raise ConnectionError("mail relay unreachable")


@dataclass
class Rig:
    env: WorkflowEnvironment
    payer: SwitchablePayer
    notifier: RecordingNotifier
    read_model: RecordingReadModel
    queue: str

    async def open(self, **overrides: Any) -> WorkflowHandle[Any, Any]:
        return await start_episode(self.env.client, self.queue, **overrides)


async def rig_with(notifier: RecordingNotifier) -> AsyncIterator[Rig]:
    # A server per test: the Java test server's clock can stay locked across tests.
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=find_binary("temporal-test-server")
    )
    async with env:
        await register_search_attributes(env.client, env.client.namespace)
        payer, read_model = SwitchablePayer(), RecordingReadModel()
        acts = EpisodeActivities(payer, read_model, notifier, RecordingClaimsOutbox())
        queue = f"tq-{uuid.uuid4().hex}"
        async with running_worker(env.client, acts, [EpisodeWorkflow], queue):
            yield Rig(env, payer, notifier, read_model, queue)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async for r in rig_with(RecordingNotifier()):
        yield r


def projected(rig: Rig, handle: WorkflowHandle[Any, Any]) -> list[str]:
    episode_id = handle.id.removeprefix("episode-")
    return [event.type for (e, _), event in rig.read_model.events.items() if e == episode_id]


async def is_running(handle: WorkflowHandle[Any, Any]) -> bool:
    # The raw call: describe() trips over a search attribute the test server echoes back.
    request = DescribeWorkflowExecutionRequest(
        namespace=handle._client.namespace,
        execution=WorkflowExecution(workflow_id=handle.id),
    )
    raw = await handle._client.workflow_service.describe_workflow_execution(request)
    status = raw.workflow_execution_info.status
    return status == WorkflowExecutionStatus.RUNNING.value


async def test_a_payer_outage_delays_only_the_payer(rig: Rig) -> None:
    rig.payer.down = True
    # Expedited MA: the payer owes a decision in 72 h; the submission keeps retrying.
    handle = await rig.open(urgency="expedited", payer_give_up=30 * 86400, **MA)
    await rig.env.sleep(timedelta(hours=73))
    assert "decision_overdue" in await event_types(handle)
    assert rig.payer.tries > 3 and rig.payer.accepted == []
    # The read model saw the escalation while the submission was still failing.
    assert "decision_overdue" in projected(rig, handle)
    rig.payer.down = False
    await rig.env.sleep(timedelta(minutes=10))
    assert [r.trace_number for r in rig.payer.accepted] == [(await view(handle)).trace_number]


async def test_an_undeliverable_request_becomes_submission_failed_and_ops_can_retry(
    rig: Rig,
) -> None:
    rig.payer.down = True
    handle = await rig.open(payer_give_up=3600, **MA)
    await rig.env.sleep(timedelta(hours=2))
    assert "submission_failed" in await event_types(handle)
    current = await view(handle)
    assert current.state == "auth_requested" and await is_running(handle)
    # No payer clock runs for a request the payer never received.
    assert "payer_decision_due" not in [d.kind for d in current.deadlines]
    summary = rig.read_model.summaries[current.episode_id]
    assert [i.kind for i in summary.worklist] == ["submit_request_failed"]
    assert "payer gateway unreachable" in summary.worklist[0].detail
    rig.payer.down = False
    result = await handle.execute_update(
        EpisodeWorkflow.retry_failed_effects, c.RetryFailedEffects(by="ops")
    )
    assert result.retried == [f"submit_request:{current.trace_number}:0"]
    await rig.env.sleep(timedelta(minutes=1))
    keys = [r.idempotency_key for r in rig.payer.accepted]
    assert keys == [f"{current.episode_id}:{current.trace_number}:initial:retry-1"]
    after = await view(handle)
    assert "payer_decision_due" in [d.kind for d in after.deadlines]
    assert rig.read_model.summaries[current.episode_id].worklist == []


async def test_a_refused_request_leaves_a_running_episode_with_a_worklist_item(rig: Rig) -> None:
    rig.payer.reject_as_invalid(reason="member id unknown to the payer")
    handle = await rig.open(**MA)
    await rig.env.sleep(timedelta(minutes=1))
    assert "submission_failed" in await event_types(handle)
    assert await is_running(handle)
    episode_id = handle.id.removeprefix("episode-")
    detail = rig.read_model.summaries[episode_id].worklist[0].detail
    assert "PayerRejectedRequest: member id unknown to the payer" in detail
    # The payer still refuses: the retry fails again, as attempt 1 under a new key.
    retry = EpisodeWorkflow.retry_failed_effects
    await handle.execute_update(retry, c.RetryFailedEffects(by="ops"))
    await rig.env.sleep(timedelta(minutes=1))
    events = await handle.query(EpisodeWorkflow.events, EventsQuery(after=0))
    failed = [e.data["attempt"] for e in events if e.type == "submission_failed"]
    assert failed == [0, 1]
    # A failure the episode never had is refused and changes nothing.
    version = (await view(handle)).version
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(retry, c.RetryFailedEffects(failure_id="submit_request:x:0"))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "not_found"
    assert (await view(handle)).version == version


async def test_a_notification_that_cannot_be_sent_is_dropped_and_the_episode_goes_on() -> None:
    notifier = BrokenNotifier()
    async for rig in rig_with(notifier):
        handle = await rig.open(urgency="expedited", payer_give_up=30 * 86400, **MA)
        # The escalation at 72 h notifies staff; the notifier refuses every attempt.
        await rig.env.sleep(timedelta(hours=73))
        await rig.env.sleep(timedelta(hours=1))
        types = await event_types(handle)
        assert "notification_dropped" in types and await is_running(handle)
        assert notifier.tries == 10  # activities/options.BEST_EFFORT
        # A dropped notification is shown on the worklist instead.
        episode_id = handle.id.removeprefix("episode-")
        kinds = [i.kind for i in rig.read_model.summaries[episode_id].worklist]
        assert "notify_failed" in kinds

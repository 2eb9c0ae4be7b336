"""The shared Temporal wiring works on both test servers, shown with a tiny test-only workflow."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

with workflow.unsafe.imports_passed_through():
    from tests.support.fakes import FakePorts
    from tests.support.temporal import running_worker
    from workflows.temporal import (
        DATA_CONVERTER,
        AuthorizationEnd,
        EpisodeState,
        NextDeadline,
        PayerId,
        SearchAttributeMismatch,
        register_search_attributes,
    )


class Sample(BaseModel):
    at: datetime
    day: date
    amount: Decimal


class PlumbingInput(BaseModel):
    sample: Sample
    timer: timedelta | None = None
    state: str | None = None


class PlumbingResult(BaseModel):
    sample: Sample
    started: datetime
    finished: datetime
    total: int


class Add(BaseModel):
    amount: int


@workflow.defn
class PlumbingWorkflow:
    def __init__(self) -> None:
        self._total = 0
        self._done = False

    @workflow.run
    async def run(self, req: PlumbingInput) -> PlumbingResult:
        started = workflow.now()
        if req.state is not None:
            workflow.upsert_search_attributes(
                [
                    EpisodeState.value_set(req.state),
                    PayerId.value_set("acme"),
                    NextDeadline.value_set(started + timedelta(days=3)),
                    AuthorizationEnd.value_set(started + timedelta(days=30)),
                ]
            )
        if req.timer is not None:
            await workflow.sleep(req.timer)
        else:
            await workflow.wait_condition(lambda: self._done)
        return PlumbingResult(
            sample=req.sample, started=started, finished=workflow.now(), total=self._total
        )

    @workflow.update
    def add(self, req: Add) -> int:
        self._total += req.amount
        return self._total

    @workflow.signal
    def finish(self) -> None:
        self._done = True

    @workflow.query
    def total(self) -> int:
        return self._total


SAMPLE = Sample(
    at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC), day=date(2025, 2, 28), amount=Decimal("123.45")
)


async def start(
    client: Client, task_queue: str, timer: timedelta | None = None, state: str | None = None
) -> WorkflowHandle[PlumbingWorkflow, PlumbingResult]:
    return await client.start_workflow(
        PlumbingWorkflow.run,
        PlumbingInput(sample=SAMPLE, timer=timer, state=state),
        id=f"plumbing-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def test_the_converter_round_trips_datetime_decimal_and_date() -> None:
    payloads = await DATA_CONVERTER.encode([SAMPLE])
    [back] = await DATA_CONVERTER.decode(payloads, [Sample])
    assert back == SAMPLE
    assert isinstance(back.amount, Decimal) and back.at.tzinfo is not None


async def test_an_update_sent_twice_with_one_id_is_applied_once(
    either_env: WorkflowEnvironment,
) -> None:
    env = either_env
    async with running_worker(env.client, FakePorts().activities(), [PlumbingWorkflow]) as w:
        handle = await start(env.client, w.task_queue)
        first = await handle.execute_update(PlumbingWorkflow.add, Add(amount=5), id="delivery-1")
        again = await handle.execute_update(PlumbingWorkflow.add, Add(amount=5), id="delivery-1")
        assert (first, again) == (5, 5)
        assert await handle.query(PlumbingWorkflow.total) == 5
        await handle.signal(PlumbingWorkflow.finish)
        result = await handle.result()
    assert result.total == 5
    assert result.sample == SAMPLE


async def test_a_seven_day_timer_is_skipped_not_waited_for(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, FakePorts().activities(), [PlumbingWorkflow]) as w:
        began = time.monotonic()
        handle = await start(client, w.task_queue, timer=timedelta(days=7))
        result = await handle.result()
        elapsed = time.monotonic() - began
    assert result.finished - result.started >= timedelta(days=7)
    # Functional, not a speed check: without time skipping this would take seven days.
    assert elapsed < timedelta(minutes=5).total_seconds()


async def test_search_attributes_are_upserted(either_env: WorkflowEnvironment) -> None:
    env = either_env
    # Registering again, as every worker start does, must leave the attributes usable.
    await register_search_attributes(env.client, env.client.namespace)
    async with running_worker(env.client, FakePorts().activities(), [PlumbingWorkflow]) as w:
        handle = await start(env.client, w.task_queue, state="referred")
        await handle.query(PlumbingWorkflow.total)  # the first workflow task has run
        attrs = (await handle.describe()).typed_search_attributes
        await handle.signal(PlumbingWorkflow.finish)
        result = await handle.result()
    assert attrs.get(EpisodeState) == "referred"
    assert attrs.get(PayerId) == "acme"
    assert attrs.get(NextDeadline) == result.started + timedelta(days=3)
    assert attrs.get(AuthorizationEnd) == result.started + timedelta(days=30)


async def test_workflows_are_listed_by_search_attribute_on_the_dev_server(
    dev_env: WorkflowEnvironment,
) -> None:
    state = f"s-{uuid.uuid4().hex}"
    async with running_worker(dev_env.client, FakePorts().activities(), [PlumbingWorkflow]) as w:
        handle = await start(dev_env.client, w.task_queue, state=state)
        await handle.query(PlumbingWorkflow.total)
        after = SAMPLE.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        query = f"EpisodeState = '{state}' AND PayerId = 'acme' AND NextDeadline > '{after}'"
        found = await eventually_listed(dev_env.client, query)
        await handle.signal(PlumbingWorkflow.finish)
    assert found == [handle.id]


async def eventually_listed(client: Client, query: str) -> list[str]:
    # Visibility is updated after the workflow task completes, a few milliseconds later.
    for _ in range(50):
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_a_search_attribute_registered_with_another_type_is_refused(
    dev_env: WorkflowEnvironment,
) -> None:
    # The dev server itself only logs a warning for this; the check turns it into an error.
    wrong = SearchAttributeKey.for_text(EpisodeState.name)
    with pytest.raises(SearchAttributeMismatch):
        await register_search_attributes(dev_env.client, dev_env.client.namespace, [wrong])

"""The shared Temporal wiring, on EpisodeWorkflow itself and on both test servers: the data
converter, the search attributes the episode list and ops read, an update repeated with its
id applied once (the API's idempotency keys and webhook delivery ids rely on it)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from domain.timing import start_of
from tests.support.episode_workflow import approval, decide, event_types, start_episode, view, world
from tests.support.temporal import running_worker
from workflows.client import EpisodeClient
from workflows.episode import EpisodeWorkflow
from workflows.models import P2PAction
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


SAMPLE = Sample(
    at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC), day=date(2025, 2, 28), amount=Decimal("123.45")
)


async def test_the_converter_round_trips_datetime_decimal_and_date() -> None:
    payloads = await DATA_CONVERTER.encode([SAMPLE])
    [back] = await DATA_CONVERTER.decode(payloads, [Sample])
    assert back == SAMPLE
    assert isinstance(back.amount, Decimal) and back.at.tzinfo is not None


async def attributes(handle: WorkflowHandle[Any, Any]) -> TypedSearchAttributes:
    return (await handle.describe()).typed_search_attributes


async def test_the_episode_sets_its_search_attributes_and_follows_its_state(
    dev_env: WorkflowEnvironment,
) -> None:
    """On the dev server only: the Java test server stores an unset datetime attribute
    (AuthorizationEnd before any authorization) as a null that `describe()` cannot decode."""
    env = dev_env
    # Registering again, as every worker start does, must leave the attributes usable.
    await register_search_attributes(env.client, env.client.namespace)
    async with running_worker(env.client, world().activities, [EpisodeWorkflow]) as w:
        handle = await start_episode(env.client, w.task_queue)
        opened = await view(handle)  # the first workflow task has run
        requested = await attributes(handle)
        today = datetime.now(UTC).date()
        await decide(handle, "A1", **approval(today, days=40))
        authorized = await view(handle)
        approved = await attributes(handle)
        await handle.terminate("test over")

    assert requested.get(EpisodeState) == opened.state == "auth_requested"
    assert requested.get(PayerId) == "acme-medicaid"
    # The payer's decision is due: the earliest deadline of the episode.
    assert requested.get(NextDeadline) == min(d.due for d in opened.deadlines)
    assert requested.get(AuthorizationEnd) is None

    assert approved.get(EpisodeState) == authorized.state == "authorized"
    assert approved.get(NextDeadline) == min(d.due for d in authorized.deadlines)
    assert approved.get(NextDeadline) != requested.get(NextDeadline)
    # An authorization covers its whole end date (domain/timing.py ends_at).
    assert approved.get(AuthorizationEnd) == start_of(today + timedelta(days=41))


async def test_without_upserts_the_episode_sets_no_search_attribute(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, world().activities, [EpisodeWorkflow]) as w:
        handle = await start_episode(env.client, w.task_queue, upsert=False)
        await view(handle)
        found = await attributes(handle)
        await handle.terminate("test over")
    assert [found.get(key) for key in (EpisodeState, PayerId, NextDeadline)] == [None] * 3


async def test_an_update_repeated_with_its_id_is_applied_once_on_the_episode(
    either_env: WorkflowEnvironment,
) -> None:
    """A second p2p request is refused by the domain (allowed only while denied), so only
    the update id makes the repeat answer with the first result instead of an error."""
    env = either_env
    async with running_worker(env.client, world().activities, [EpisodeWorkflow]) as w:
        handle = await start_episode(env.client, w.task_queue)
        await decide(handle, "A3")
        episodes = EpisodeClient(env.client, w.task_queue)
        episode_id = handle.id.removeprefix("episode-")
        request = P2PAction(action="request")
        first = await episodes.update(episode_id, EpisodeWorkflow.p2p, request, update_id="k-1")
        again = await episodes.update(episode_id, EpisodeWorkflow.p2p, request, update_id="k-1")
        types = await event_types(handle)
        with pytest.raises(Exception, match="p2p_requested"):
            await episodes.update(episode_id, EpisodeWorkflow.p2p, request, update_id="k-2")
        await handle.terminate("test over")

    assert first == again
    assert first.state == "p2p_requested"
    assert types.count("p2p_requested") == 1


async def test_episodes_are_listed_by_search_attribute_on_the_dev_server(
    dev_env: WorkflowEnvironment,
) -> None:
    payer = f"payer-{uuid.uuid4().hex[:12]}"
    async with running_worker(dev_env.client, world().activities, [EpisodeWorkflow]) as w:
        handle = await start_episode(
            dev_env.client, w.task_queue, payer={"id": payer, "plan_type": "commercial"}
        )
        opened = await view(handle)
        due = min(d.due for d in opened.deadlines)
        before = (due - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (
            f"EpisodeState = 'auth_requested' AND PayerId = '{payer}' AND NextDeadline > '{before}'"
        )
        found = await eventually_listed(dev_env.client, query)
        await handle.terminate("test over")
    assert found == [handle.id]


async def eventually_listed(client: Client, query: str, within: float = 10.0) -> list[str]:
    """Visibility is updated after the workflow task completes, a few milliseconds later;
    waits up to `within` seconds for the first match."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = [w.id async for w in client.list_workflows(query)]
        if found or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_a_search_attribute_registered_with_another_type_is_refused(
    dev_env: WorkflowEnvironment,
) -> None:
    # The dev server itself only logs a warning for this; the check turns it into an error.
    wrong = SearchAttributeKey.for_text(EpisodeState.name)
    with pytest.raises(SearchAttributeMismatch):
        await register_search_attributes(dev_env.client, dev_env.client.namespace, [wrong])

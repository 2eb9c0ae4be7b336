"""Every change is audited whoever makes it (issue 14): the redelivery loop's decisions, and
opens answered 503 whose episode was, or was not, created after all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api import opening
from api.app import create_app
from api.deps import get_episode_calls
from api.episode_calls import EpisodeCalls
from api.redelivery import Redelivery
from domain import commands as c
from domain.views import EpisodeView
from store.ports import AuditEntry
from tests.support.api_client import Api
from tests.support.intake import intake_body, new_id
from tests.support.outage import Outage, send, temporal_outage
from tests.support.polling import eventually
from workflows.client import WorkflowServiceUnavailable


@pytest_asyncio.fixture(loop_scope="session")
async def outage(api: Api) -> AsyncIterator[Outage]:
    async with temporal_outage(api) as running:
        yield running


class AnswerLost(EpisodeCalls):
    """Temporal opens the episode, but its answer never reaches the API (a cut connection)."""

    async def open(self, command: c.OpenEpisode) -> tuple[EpisodeView, bool]:
        await super().open(command)
        raise WorkflowServiceUnavailable("the answer was lost on the way back")


@pytest_asyncio.fixture(loop_scope="session")
async def lossy(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api.stack.settings, deps=api.deps)
    app.dependency_overrides[get_episode_calls] = lambda: AnswerLost(api.deps.episodes, 15)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        yield http


@pytest.fixture
def quick_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opening, "CONFIRM_DELAYS_SECONDS", (0.05, 0.1, 0.2))


async def trail(api: Api, episode_id: str) -> list[AuditEntry]:
    return await asyncio.to_thread(api.deps.audit_log.entries, episode_id)


async def confirmed(api: Api, episode_id: str) -> AuditEntry:
    async def found() -> AuditEntry | None:
        after = [e for e in await trail(api, episode_id) if e.route == "after 503"]
        return after[0] if after else None

    return await eventually(found, timeout=15)


async def test_an_open_answered_503_but_created_after_all_is_audited_as_created(
    api: Api, lossy: httpx.AsyncClient, quick_confirmation: None
) -> None:
    body = intake_body(episode_id=new_id())
    rid = new_id("rid")

    answer = await lossy.post(
        "/episodes", json=body, headers=Api.auth("intake") | {"X-Request-ID": rid}
    )

    assert answer.status_code == 503
    entry = await confirmed(api, body["episode_id"])
    assert (entry.outcome, entry.action, entry.request_id, entry.role) == (
        "created_after_unavailable",
        "episode.open",
        rid,
        "intake",
    )
    first = [e for e in await trail(api, body["episode_id"]) if e.request_id == rid]
    assert {e.outcome for e in first} == {"workflow_unavailable", "created_after_unavailable"}
    assert (await api.view(body["episode_id"]))["state"] == "auth_requested"


class NeverSent(EpisodeCalls):
    """The start never reaches Temporal, though Temporal answers the checks after it."""

    async def open(self, command: c.OpenEpisode) -> tuple[EpisodeView, bool]:
        raise WorkflowServiceUnavailable("no answer")


async def test_an_open_answered_503_that_never_happened_is_audited_as_not_created(
    api: Api, quick_confirmation: None
) -> None:
    app = create_app(api.stack.settings, deps=api.deps)
    app.dependency_overrides[get_episode_calls] = lambda: NeverSent(api.deps.episodes, 15)
    body = intake_body(episode_id=new_id())

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        answer = await http.post("/episodes", json=body, headers=Api.auth("intake"))

    assert answer.status_code == 503
    entry = await confirmed(api, body["episode_id"])
    assert (entry.outcome, entry.status_code) == ("not_created", 503)


async def test_an_open_answered_503_while_temporal_stays_away_is_audited_as_unconfirmed(
    api: Api, outage: Outage, quick_confirmation: None
) -> None:
    body = intake_body(episode_id=new_id())

    answer = await outage.http.post("/episodes", json=body, headers=Api.auth("intake"))

    assert answer.status_code == 503
    entry = await confirmed(api, body["episode_id"])
    assert (entry.outcome, entry.status_code) == ("unconfirmed", 503)


async def test_a_decision_the_redelivery_loop_applies_is_audited_as_the_payers_change(
    api: Api, outage: Outage
) -> None:
    view = await api.open()
    delivery = new_id("dlv")
    queued = await send(outage.http, api, view, delivery)
    outage.temporal_is_back(api)

    await Redelivery(outage.deps, timeout=10, grace=timedelta(seconds=60)).run_once()

    assert queued.json()["status"] == "queued"
    entries: list[Any] = await trail(api, view["episode_id"])
    [later] = [e for e in entries if e.action == "webhook.redelivery"]
    assert (later.actor, later.role, later.outcome, later.status_code) == (
        "payer:acme-medicaid",
        "payer",
        "applied",
        202,
    )
    assert later.request_id == f"redelivery:{delivery}"

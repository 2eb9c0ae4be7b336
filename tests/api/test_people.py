"""People over HTTP: personal tokens name the person, disable revokes, bad tokens are throttled."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.people import add_user, disable_user, issue_personal_token, seed_dev_users
from settings import Settings
from store.db import make_engine
from store.sql_users import SqlUserStore
from store.throttles import SqlThrottleCounts
from tests.support.api_client import Api
from tests.support.api_stack import Stack, api_settings
from tests.support.intake import intake_body
from tests.support.polling import eventually


def username() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def person(api: Api, *roles: str, name: str = "Dana Ortiz") -> tuple[str, str]:
    """A new user with `roles` and their personal token."""
    users = SqlUserStore(api.stack.engine)
    login = username()
    add_user(users, login, list(roles), name, api.deps.clock())
    return login, issue_personal_token(users, login, api.deps.clock())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def own_address() -> tuple[str, int]:
    """A client address no other test uses: throttle counts live in the shared database."""
    n = uuid.uuid4().int
    return (f"10.{n % 256}.{(n >> 8) % 256}.{(n >> 16) % 256}", 40000)


def client_of(app: Any, address: tuple[str, int]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=address)
    return httpx.AsyncClient(transport=transport, base_url="http://stepdown.test")


async def test_a_personal_token_acts_as_its_person_and_the_audit_names_them(api: Api) -> None:
    login, token = person(api, "intake", name="Dana Ortiz")
    body = intake_body()

    opened = await api.http.post("/episodes", json=body, headers=bearer(token))
    entries = await asyncio.to_thread(api.deps.audit_log.entries, body["episode_id"])

    assert opened.status_code == 201, opened.text
    assert [(e.actor, e.role, e.actor_name) for e in entries] == [
        (f"user:{login}", "intake", "Dana Ortiz")
    ]
    assert entries[0].user_id is not None


async def test_a_person_gets_only_what_their_roles_allow(api: Api) -> None:
    _, intake = person(api, "intake")
    _, both = person(api, "intake", "ops")

    refused = await api.http.get("/worklist", headers=bearer(intake))
    allowed = await api.http.get("/worklist", headers=bearer(both))

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert allowed.status_code == 200


async def test_disabling_a_person_revokes_their_tokens_at_once(api: Api) -> None:
    login, token = person(api, "ops")
    users = SqlUserStore(api.stack.engine)

    before = await api.http.get("/worklist", headers=bearer(token))
    disable_user(users, login, api.deps.clock())
    after = await api.http.get("/worklist", headers=bearer(token))

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["code"] == "unauthenticated"


@pytest_asyncio.fixture(loop_scope="session")
async def strict(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The same parts behind an app that throttles after 3 bad bearer tokens per address."""
    settings = api_settings(
        STEPDOWN_TASK_QUEUE=stack.settings.task_queue, STEPDOWN_BEARER_FAILURES_PER_ADDRESS=3
    )
    async with client_of(create_app(settings, deps=stack.deps), own_address()) as http:
        yield http


async def test_repeated_bad_tokens_from_one_address_get_429_with_retry_after(
    strict: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    guesses = [f"guess-{n}-secret" for n in range(4)]
    with caplog.at_level(logging.WARNING, logger="stepdown.security"):
        answers = [await strict.get("/worklist", headers=bearer(g)) for g in guesses]
        valid_meanwhile = await strict.get("/worklist", headers=bearer("t-ops"))

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    # While an address is throttled no guess is even checked, so a right one teaches nothing.
    assert valid_meanwhile.status_code == 429
    assert "bearer token refused" in caplog.text
    assert not any(g in caplog.text for g in guesses)


async def test_no_token_at_all_is_not_counted_as_a_guess(stack: Stack) -> None:
    settings = api_settings(STEPDOWN_BEARER_FAILURES_PER_ADDRESS=1)
    async with client_of(create_app(settings, deps=stack.deps), own_address()) as http:
        anonymous = [(await http.get("/worklist")).status_code for _ in range(3)]
        valid = await http.get("/worklist", headers=bearer("t-ops"))

    assert anonymous == [401, 401, 401]
    assert valid.status_code == 200


async def test_two_replicas_over_one_database_share_the_count(stack: Stack) -> None:
    """Two apps, each with its own engine on the same database, as two replicas would be:
    failures sent to either count toward one limit, and the wait holds on both."""
    settings = api_settings(
        STEPDOWN_TASK_QUEUE=stack.settings.task_queue, STEPDOWN_BEARER_FAILURES_PER_ADDRESS=3
    )
    url = stack.engine.url.render_as_string(hide_password=False)
    other_engine = make_engine(url)
    other_deps = dataclasses.replace(stack.deps, throttle_counts=SqlThrottleCounts(other_engine))
    address = own_address()
    try:
        async with (
            client_of(create_app(settings, deps=stack.deps), address) as first,
            client_of(create_app(settings, deps=other_deps), address) as second,
        ):
            answers = []
            for n in range(4):
                replica = first if n % 2 == 0 else second
                answers.append(await replica.get("/worklist", headers=bearer(f"bad-{n}")))
            after = [await r.get("/worklist", headers=bearer("t-ops")) for r in (first, second)]
        async with client_of(create_app(settings, deps=other_deps), own_address()) as elsewhere:
            other_address = await elsewhere.get("/worklist", headers=bearer("t-ops"))
    finally:
        other_engine.dispose()

    # Neither replica alone saw 3 failures (the limit): the first saw 2, the second 1.
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert [a.status_code for a in after] == [429, 429]
    waits = [int(a.headers["Retry-After"]) for a in (answers[-1], *after)]
    assert all(1 <= wait <= settings.throttle_window_seconds for wait in waits)
    assert other_address.status_code == 200


async def test_dev_tokens_stand_for_the_seeded_dev_users(stack: Stack) -> None:
    users = SqlUserStore(stack.engine)
    seed_dev_users(users, stack.deps.clock())
    dev = Settings.model_validate({"STEPDOWN_DEV": True, "STEPDOWN_TEMPORAL_TIMEOUT": 15})
    dev = dev.model_copy(update={"task_queue": stack.settings.task_queue})
    app = create_app(dev, deps=dataclasses.replace(stack.deps))
    body = intake_body()
    # Default throttle limits over the shared database: an address no other test counted on.
    async with client_of(app, own_address()) as http:
        opened = await http.post("/episodes", json=body, headers=bearer("dev-intake"))
        disable_user(users, "billing", stack.deps.clock())
        disabled = await http.get(f"/episodes/{body['episode_id']}", headers=bearer("dev-billing"))
    seed_dev_users(users, stack.deps.clock())  # the next dev start enables billing again
    entries = await asyncio.to_thread(stack.deps.audit_log.entries, body["episode_id"])

    assert opened.status_code == 201, opened.text
    assert (entries[0].actor, entries[0].actor_name) == ("user:intake", "Dev intake")
    assert disabled.status_code == 401


async def events_of(api: Api, episode_id: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        found = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
        events: list[dict[str, Any]] = found.json() if found.status_code == 200 else []
        return events if len(events) >= count else None

    return await eventually(enough)


async def test_each_event_names_the_person_whose_command_produced_it(api: Api) -> None:
    intake_login, intake = person(api, "intake", name="Ivy Intake")
    ops_login, ops = person(api, "ops", name="Oscar Ops")
    body = intake_body()
    episode_id = body["episode_id"]

    await api.http.post("/episodes", json=body, headers=bearer(intake))
    # A body naming someone else changes nothing: only the signed-in caller acts.
    forged = {"action": "request", "actor": {"id": "user:mallory", "role": "admin"}}
    view = await api.view(episode_id)
    await api.decide(view, "A3", reason="criteria")
    await eventually(lambda: _state_is(api, episode_id, "denied"))
    p2p = await api.http.post(f"/episodes/{episode_id}/p2p", json=forged, headers=bearer(ops))
    events = await events_of(api, episode_id, 4)

    assert p2p.status_code == 200, p2p.text
    actors = {e["type"]: (e["data"].get("actor") or {}).get("id") for e in events}
    assert actors["episode_opened"] == actors["authorization_requested"] == f"user:{intake_login}"
    assert actors["authorization_denied"] is None  # the payer's
    assert actors["p2p_requested"] == f"user:{ops_login}"
    requested = next(e for e in events if e["type"] == "p2p_requested")
    assert requested["data"]["actor"] == {
        "id": f"user:{ops_login}",
        "role": "ops",
        "name": "Oscar Ops",
    }


async def _state_is(api: Api, episode_id: str, state: str) -> bool:
    return (await api.view(episode_id))["state"] == state


async def test_the_same_intake_from_another_person_is_a_repeat_not_a_conflict(api: Api) -> None:
    _, first = person(api, "intake")
    _, second = person(api, "intake")
    body = intake_body()

    opened = await api.http.post("/episodes", json=body, headers=bearer(first))
    again = await api.http.post("/episodes", json=body, headers=bearer(second))

    assert (opened.status_code, again.status_code) == (201, 200)


async def test_reads_of_phi_are_audited_by_person(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    login, token = person(api, "ops", name="Rita Reader")

    for path in ("", "/events", "/history"):
        await api.http.get(f"/episodes/{episode_id}{path}", headers=bearer(token))
    await api.http.get("/worklist", headers=bearer(token))  # no single episode's PHI
    entries = await asyncio.to_thread(api.deps.audit_log.entries, episode_id)

    reads = [(e.action, e.actor, e.actor_name) for e in entries if e.route.startswith("GET")]
    assert reads == [
        ("episode.history", f"user:{login}", "Rita Reader"),
        ("episode.events", f"user:{login}", "Rita Reader"),
        ("episode.view", f"user:{login}", "Rita Reader"),
    ]

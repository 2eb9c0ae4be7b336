"""Console sign-in as a person: server-side sessions, logout and disable revoke them, idle
timeout, Secure over HTTPS, failed sign-ins throttled per account and per address."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.console.session import COOKIE
from api.identity import hash_password
from api.people import add_user, disable_user
from store.sql_users import SqlUserStore
from tests.support.api_stack import Stack, api_settings
from tests.support.console_client import CSRF, Console, visible_text
from tests.support.polling import eventually


def new_person(
    stack: Stack, *roles: str, name: str = "Dana Ortiz", one_time: bool = False
) -> tuple[str, str]:
    """A user and their password: the one-time one, or (default) one they already chose."""
    login, users, now = f"u{uuid.uuid4().hex[:10]}", SqlUserStore(stack.engine), stack.deps.clock()
    record, password = add_user(users, login, list(roles), name, now)
    if not one_time:
        password = f"chosen-{uuid.uuid4().hex}"
        users.set_password(record.id, hash_password(password), now)
    return login, password


async def sign_in(web: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await web.post("/console/login", data={"username": login, "password": password})


async def test_a_person_signs_in_and_the_cookie_is_a_session_id_not_a_secret(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops", name="Dana <b>Ortiz</b>")

    response = await sign_in(console.web, login, password)
    page = await console.web.get("/console")

    assert response.status_code == 303
    cookie = console.web.cookies[COOKIE]
    assert password not in cookie and len(cookie) >= 40
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "Secure" not in response.headers["set-cookie"]  # plain http in this test
    assert "signed in as Dana <b>Ortiz</b> (ops)" in visible_text(page.text)
    assert "<b>Ortiz" not in page.text  # escaped


async def test_a_wrong_password_or_unknown_user_is_refused_alike(
    console: Console, console_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    login, password = new_person(console_stack, "ops")

    with caplog.at_level(logging.WARNING, logger="stepdown.security"):
        wrong = await sign_in(console.web, login, password + "x")
        unknown = await sign_in(console.web, "nobody-here", password)
    empty = await console.web.post("/console/login", data={"username": login})

    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in visible_text(wrong.text)
    assert "do not match" in visible_text(unknown.text)
    assert "set-cookie" not in wrong.headers
    assert empty.status_code == 422 and "Enter your username and your password" in empty.text
    assert "console sign-in refused" in caplog.text and password not in caplog.text


async def test_billing_people_may_not_use_the_console(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "billing")

    response = await sign_in(console.web, login, password)

    assert response.status_code == 403 and "set-cookie" not in response.headers


async def test_logout_revokes_the_session_so_the_old_cookie_is_refused(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops")
    await sign_in(console.web, login, password)
    old = console.web.cookies[COOKIE]

    await console.submit("/console/logout", {})
    console.web.cookies.set(COOKIE, old, domain="stepdown.test", path="/console")
    replayed = await console.web.get("/console")

    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/console/login")


async def test_disabling_a_person_ends_their_open_session(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops")
    await sign_in(console.web, login, password)
    before = await console.web.get("/console")

    disable_user(SqlUserStore(console_stack.engine), login, console_stack.deps.clock())
    after = await console.web.get("/console")
    again = await sign_in(console.web, login, password)

    assert before.status_code == 200
    assert after.status_code == 303
    assert again.status_code == 401


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclasses.dataclass(frozen=True)
class Strict:
    """A browser-like client of an https app with low sign-in limits, and the app's clock."""

    web: httpx.AsyncClient
    clock: Clock


@pytest_asyncio.fixture(loop_scope="session")
async def strict(console_stack: Stack) -> AsyncIterator[Strict]:
    """An https app over the same parts: 3 failures per account, 5 per address; own clock."""
    clock = Clock(console_stack.deps.clock())
    settings = api_settings(
        STEPDOWN_TASK_QUEUE=console_stack.settings.task_queue,
        STEPDOWN_SIGNIN_FAILURES_PER_ACCOUNT=3,
        STEPDOWN_SIGNIN_FAILURES_PER_ADDRESS=5,
        STEPDOWN_CONSOLE_IDLE=30,
    )
    app = create_app(settings, deps=dataclasses.replace(console_stack.deps, clock=clock))
    # An address of its own: failures are counted in the shared database (api/throttle.py).
    n = uuid.uuid4().int
    transport = httpx.ASGITransport(app=app, client=(f"10.{n % 256}.{(n >> 8) % 256}.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="https://stepdown.test") as web:
        yield Strict(web, clock)


async def test_over_https_the_cookie_is_secure_and_an_idle_session_ends(
    strict: Strict, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops")

    response = await sign_in(strict.web, login, password)
    strict.clock.now += timedelta(minutes=29)
    active = await strict.web.get("/console")
    strict.clock.now += timedelta(minutes=29)  # seen 29 minutes ago: still within the idle timeout
    still = await strict.web.get("/console")
    strict.clock.now += timedelta(minutes=31)
    idle = await strict.web.get("/console")

    assert "Secure" in response.headers["set-cookie"]
    assert active.status_code == still.status_code == 200
    assert idle.status_code == 303


async def test_failed_sign_ins_are_throttled_per_account_then_per_address(
    strict: Strict, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops")
    other, other_password = new_person(console_stack, "ops")

    wrong = [(await sign_in(strict.web, login, "wrong")).status_code for _ in range(3)]
    locked = await sign_in(strict.web, login, password)
    elsewhere = await sign_in(strict.web, other, other_password)
    await strict.web.post(
        "/console/logout", data={"csrf": csrf_of(await strict.web.get("/console"))}
    )
    more = [(await sign_in(strict.web, other, "wrong")).status_code for _ in range(2)]
    address_locked = await sign_in(strict.web, other, other_password)

    assert wrong == [401, 401, 429]
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in visible_text(locked.text)
    assert elsewhere.status_code == 303  # another account from the same address may still try
    assert more == [401, 429]  # the address's fifth failure
    assert address_locked.status_code == 429


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_the_timeline_names_the_person_and_the_page_read_is_audited(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops", name="Oscar Ops")
    view = await console.api.open()
    episode_id = view["episode_id"]
    await sign_in(console.web, login, password)

    cancelled = await console.act(episode_id, "cancel", reason="patient moved")

    async def timeline() -> str | None:
        page = await console.web.get(f"/console/episodes/{episode_id}")
        text = visible_text(page.text)
        return text if "Cancelled: patient moved" in text else None

    text = await eventually(timeline)
    entries = await asyncio.to_thread(console_stack.deps.audit_log.entries, episode_id)
    assert cancelled.status_code == 303
    assert f"Oscar Ops (ops) user:{login} Cancelled: patient moved" in text
    assert "Opened: step-down" in text  # the intake token's event: a role, no person
    reads = {(e.action, e.actor, e.actor_name) for e in entries if e.route.startswith("GET")}
    assert ("console.episode", f"user:{login}", "Oscar Ops") in reads
    [action] = [e for e in entries if e.action == "console.action.cancel"]
    assert (action.actor, action.user_id is not None) == (f"user:{login}", True)


async def test_a_one_time_password_must_be_replaced_before_any_page(
    console: Console, console_stack: Stack
) -> None:
    login, one_time = new_person(console_stack, "ops", one_time=True)
    await sign_in(console.web, login, one_time)

    held = await console.web.get("/console/episodes")
    form = await console.web.get("/console/password")
    token = csrf_of(form)
    bad = await console.web.post(
        "/console/password",
        data={"csrf": token, "current": "wrong", "new": "short", "confirm": "other"},
    )
    mismatch = await console.web.post(
        "/console/password",
        data={"csrf": token, "current": one_time, "new": "a long new passphrase", "confirm": "x"},
    )
    done = await console.web.post(
        "/console/password",
        data={
            "csrf": token,
            "current": one_time,
            "new": "a long new passphrase",
            "confirm": "a long new passphrase",
        },
    )
    after = await console.web.get("/console/episodes")

    assert held.status_code == 303 and held.headers["location"] == "/console/password"
    assert "You signed in with a one-time password" in visible_text(form.text)
    assert bad.status_code == 422
    text = visible_text(bad.text)
    assert "That is not your current password." in text
    assert "Use at least 12 characters." in text
    assert 'id="current" name="current" autocomplete="current-password"' in bad.text
    assert 'aria-invalid="true"' in bad.text and 'aria-describedby="new-hint new-error"' in bad.text
    assert "The two new passwords differ" in visible_text(mismatch.text)
    assert done.status_code == 303 and after.status_code == 200
    await console.submit("/console/logout", {}, csrf=csrf_of(after))
    assert (await sign_in(console.web, login, one_time)).status_code == 401
    assert (await sign_in(console.web, login, "a long new passphrase")).status_code == 303


async def test_a_token_session_has_no_password_to_change(console: Console) -> None:
    await console.login("ops")

    response = await console.web.get("/console/password")

    assert response.status_code == 404

"""Console sign-in: token cookie, roles that may enter, logout, and CSRF on every form."""

from __future__ import annotations

import pytest

from api.console.session import COOKIE
from tests.support.console_client import Console, intake_form, visible_text


async def test_a_visitor_without_a_session_is_sent_to_the_login_page(console: Console) -> None:
    response = await console.web.get("/console/episodes/ep-1")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/episodes/ep-1"
    login = await console.web.get(response.headers["location"])
    assert login.status_code == 200
    assert 'label for="token"' in login.text


@pytest.mark.parametrize("role", ["ops", "intake", "admin"])
async def test_ops_intake_and_admin_sign_in_with_an_httponly_strict_cookie(
    console: Console, role: str
) -> None:
    response = await console.login(role)

    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    page = await console.web.get("/console", follow_redirects=True)
    assert page.status_code == 200
    assert f"signed in as {role}" in visible_text(page.text)


async def test_intake_lands_on_the_intake_form_not_the_ops_worklist(console: Console) -> None:
    await console.login("intake")

    worklist = await console.web.get("/console")
    form = await console.web.get(worklist.headers["location"])

    assert worklist.status_code == 303
    assert worklist.headers["location"] == "/console/episodes/new"
    assert ">Worklist<" not in form.text
    assert 'href="/console/episodes/new"' in form.text


async def test_billing_gets_a_403_page_and_no_cookie(console: Console) -> None:
    response = await console.login("billing")

    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "needs one of: ops, intake, admin" in visible_text(response.text)


async def test_an_unknown_token_is_refused_on_the_login_page(console: Console) -> None:
    response = await console.web.post("/console/login", data={"token": "guess"})

    assert response.status_code == 401
    assert "That token is not valid" in response.text
    assert "set-cookie" not in response.headers


async def test_login_never_redirects_off_the_console(console: Console) -> None:
    response = await console.web.post(
        "/console/login", data={"token": "t-ops", "next": "https://evil.example/console"}
    )

    assert response.headers["location"] == "/console"


async def test_logout_clears_the_cookie_and_needs_the_csrf_token(console: Console) -> None:
    await console.login("ops")

    refused = await console.submit("/console/logout", {}, csrf="0" * 64)
    still_in = await console.web.get("/console")
    accepted = await console.submit("/console/logout", {})
    after = await console.web.get("/console")

    assert refused.status_code == 403 and still_in.status_code == 200
    assert accepted.status_code == 303
    assert after.status_code == 303 and after.headers["location"].startswith("/console/login")


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(console: Console) -> None:
    await console.login("ops")
    form = intake_form()

    missing = await console.web.post("/console/episodes/new", data=form)
    forged = await console.submit("/console/episodes/new", form, csrf="ab" * 32)

    assert missing.status_code == forged.status_code == 403
    assert "security token does not match" in visible_text(forged.text)
    assert (await console.web.get(f"/console/episodes/{form['episode_id']}")).status_code == 404


async def test_a_post_from_another_origin_is_refused(console: Console) -> None:
    await console.login("ops")
    token = await console.csrf()

    response = await console.web.post(
        "/console/episodes/new",
        data=intake_form() | {"csrf": token},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403


async def test_another_sessions_csrf_token_is_refused(console: Console) -> None:
    await console.login("intake")
    intake_token = await console.csrf("/console/episodes/new")
    await console.login("ops")

    response = await console.submit("/console/episodes/new", intake_form(), csrf=intake_token)

    assert response.status_code == 403


async def test_intake_may_open_episodes_but_not_act_on_p2p(console: Console) -> None:
    await console.login("intake")

    form = await console.web.get("/console/episodes/new")
    p2p = await console.act("ep-any", "p2p-request")

    assert form.status_code == 200
    assert p2p.status_code == 403
    assert "needs one of: ops, admin" in visible_text(p2p.text)


async def test_pages_are_not_cached_or_framed(console: Console) -> None:
    await console.login("ops")

    page = await console.web.get("/console")

    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

"""Console sign-in as a person (username and password) or with an API token, and sign-out.

Either way the cookie gets a random session id, never the token. Failed sign-ins are
throttled per account and per address (429 with Retry-After) and logged without the secret.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.auth import User, address_of, throttles_of, user_for_token, user_of
from api.console.gate import forbidden, security_log, submitted
from api.console.page import message_page, render
from api.console.session import (
    CONSOLE_ROLES,
    clear_session_cookie,
    client_of,
    current_session,
    open_session,
    read_form,
    safe_next,
    same_origin,
    set_session_cookie,
    users_of,
)
from api.console.templates import render_template
from api.deps import blocking, get_deps, request_settings
from api.identity import rehash_if_needed, verify_password

router = APIRouter(include_in_schema=False)
MAX_FIELD = 200
WRONG_PASSWORD = "That username and password do not match. Check them and try again."
WRONG_TOKEN = "That token is not valid. Check it and try again."


def login_page(
    next_path: str,
    problem: str = "",
    status: int = 200,
    username: str = "",
    sso: bool = False,
) -> Response:
    body = render_template(
        "login.html", next_path=next_path, problem=problem, username=username, sso=sso
    )
    return render("Sign in", body, None, status=status)


@router.get("/login", name="console.login_form")
async def login_form(request: Request, next: str = "/console") -> Response:
    if await current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(safe_next(next), sso=request_settings(request).sso_enabled())


def throttled(wait: int, target: str) -> Response:
    problem = f"Too many failed sign-ins. Wait {wait} seconds, then try again."
    response = login_page(target, problem, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _password_user(request: Request, username: str, password: str) -> User | None:
    """The person these credentials belong to (synchronous: argon2 and the store)."""
    users = users_of(request)
    record = users.by_username(username)
    if not verify_password(record, password) or record is None:
        return None
    rehash_if_needed(users, record, password, get_deps(request).clock())
    return user_of(record)


@router.post("/login", name="console.login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        security_log.warning("console sign-in from another origin: from=%s", client_of(request))
        return message_page("Refused", "The form was sent from another site.", None, 403)
    form = await read_form(request) or {}
    target = safe_next(form.get("next"))
    username = form.get("username", "").strip().lower()[:MAX_FIELD]
    token = form.get("token", "").strip()[:MAX_FIELD]
    address, account = address_of(request), f"user:{username}"
    wait = await blocking(_wait, request, address, account if username and not token else None)
    if wait is not None:
        request.state.outcome = "throttled"
        return throttled(wait, target)
    if not token and not (username and form.get("password")):
        return login_page(target, "Enter your username and your password.", 422, username)
    if token:
        user = await blocking(user_for_token, request, token)
    else:
        user = await blocking(_password_user, request, username, form.get("password", ""))
    if user is None:
        return await refused(request, target, username if not token else "")
    await blocking(throttles_of(request).signin_account.clear, account)
    request.state.user = user
    if not user.holds(*CONSOLE_ROLES):
        request.state.outcome = "forbidden"
        return forbidden(user.role, None, CONSOLE_ROLES)
    session_id, _ = await blocking(open_session, request, user, token or None)
    request.state.outcome = "signed_in"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, session_id)
    return response


def _wait(request: Request, address: str, account: str | None) -> int | None:
    """How long this address (and account, if named) must wait before trying again."""
    throttles = throttles_of(request)
    wait = throttles.signin_address.retry_after(address)
    return wait or (throttles.signin_account.retry_after(account) if account else None)


def _count_failure(request: Request, address: str, username: str) -> int | None:
    throttles = throttles_of(request)
    wait = throttles.signin_address.fail(address)
    if username:
        wait = throttles.signin_account.fail(f"user:{username}") or wait
    return wait


async def refused(request: Request, target: str, username: str) -> Response:
    """A failed sign-in: counted for the address and the account, logged without the secret."""
    address = address_of(request)
    wait = await blocking(_count_failure, request, address, username)
    request.state.outcome = "unauthenticated"
    how = f"user={username!r}" if username else "unknown token"
    security_log.warning("console sign-in refused: %s from=%s", how, address)
    if wait is not None:
        return throttled(wait, target)
    problem = WRONG_PASSWORD if username else WRONG_TOKEN
    return login_page(target, problem, 401, username)


@router.post("/logout", name="console.logout")
async def logout(request: Request) -> Response:
    gate = await submitted(request, ("ops", "intake", "billing"), expired_ok=True)
    if isinstance(gate, Response):
        return gate
    session, _ = gate
    await blocking(users_of(request).revoke_session, session.id_hash, get_deps(request).clock())
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response)
    return response

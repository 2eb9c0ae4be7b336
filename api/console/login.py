"""Console sign-in with an API token (kept in an HttpOnly cookie) and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.console.gate import forbidden, security_log, submitted
from api.console.page import alert, esc, message_page, render
from api.console.session import (
    CONSOLE_ROLES,
    clear_session_cookie,
    client_of,
    current_session,
    read_form,
    safe_next,
    same_origin,
    session_for,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


def login_page(next_path: str, problem: str = "", status: int = 200) -> Response:
    body = (
        '<div class="card login"><h1>Sign in</h1>'
        '<p class="muted">Use the access token issued for your role (ops, intake or admin).</p>'
        f"{alert([problem] if problem else [])}"
        '<form method="post" action="/console/login">'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        '<div class="field"><label for="token">Access token</label>'
        '<input type="password" id="token" name="token" autocomplete="off" required '
        'autofocus></div><button type="submit">Sign in</button></form></div>'
    )
    return render("Sign in", body, None, status=status)


@router.get("/login", name="console.login_form")
async def login_form(request: Request, next: str = "/console") -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(safe_next(next))


@router.post("/login", name="console.login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        security_log.warning("console sign-in from another origin: from=%s", client_of(request))
        return message_page("Refused", "The form was sent from another site.", None, 403)
    form = await read_form(request) or {}
    token, target = form.get("token", "").strip(), safe_next(form.get("next"))
    session = session_for(request, token)
    if session is None:
        request.state.outcome = "unauthenticated"
        security_log.warning("console sign-in refused: unknown token from=%s", client_of(request))
        return login_page(target, "That token is not valid. Check it and try again.", 401)
    request.state.user = session.user
    if not session.may(*CONSOLE_ROLES):
        request.state.outcome = "forbidden"
        return forbidden(session.role, None, CONSOLE_ROLES)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


@router.post("/logout", name="console.logout")
async def logout(request: Request) -> Response:
    gate = await submitted(request, ("ops", "intake", "billing"))
    if isinstance(gate, Response):
        return gate
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response)
    return response

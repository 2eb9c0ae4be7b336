"""Who may see a console page or submit its form: login redirect, role refusal, CSRF refusal."""

from __future__ import annotations

import logging

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from api.console.page import message_page
from api.console.session import (
    CONSOLE_ROLES,
    Session,
    client_of,
    csrf_ok,
    current_session,
    login_redirect,
    read_form,
    same_origin,
)

Form = dict[str, str]
security_log = logging.getLogger("stepdown.security")
PASSWORD_PAGE = "/console/password"
LOGIN_LINK = '<p><a href="/console/login">Sign in as someone else</a></p>'


def forbidden(role: str, session: Session | None, roles: tuple[str, ...]) -> Response:
    """The 403 page; `session` is None when the visitor is not signed in to the console."""
    allowed = ", ".join(dict.fromkeys((*roles, "admin")))
    detail = f"The {role} role may not use this page; it needs one of: {allowed}."
    return message_page("Not allowed", detail, session, 403, LOGIN_LINK)


async def enter(
    request: Request, roles: tuple[str, ...] = CONSOLE_ROLES, *, expired_ok: bool = False
) -> Session | Response:
    """The signed-in session, or the response that sends the visitor elsewhere."""
    session = await current_session(request)
    if session is None:
        return login_redirect(request)
    if session.password_expired and not expired_ok:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    if not session.may(*roles):
        request.state.outcome = "forbidden"
        return forbidden(session.role, session, roles)
    return session


async def submitted(
    request: Request, roles: tuple[str, ...] = CONSOLE_ROLES, *, expired_ok: bool = False
) -> tuple[Session, Form] | Response:
    """A POSTed form from this origin, carrying this session's CSRF token."""
    if not same_origin(request):
        security_log.warning(
            "console form from another origin refused: from=%s", client_of(request)
        )
        return message_page("Refused", "The form was sent from another site.", None, 403)
    gate = await enter(request, roles, expired_ok=expired_ok)
    if isinstance(gate, Response):
        return gate
    form = await read_form(request)
    if form is None:
        return message_page("Refused", "Send the form as the page does.", gate, 415)
    if not csrf_ok(gate, form):
        request.state.outcome = "csrf_refused"
        security_log.warning(
            "console CSRF token refused: actor=%s from=%s", gate.user.actor, client_of(request)
        )
        detail = "The form's security token does not match your session. Reload the page and retry."
        return message_page("Form expired", detail, gate, 403)
    return gate, form

"""Console sessions: the bearer token in an HttpOnly cookie, role gates and HMAC CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from api.auth import User, actor_of, role_of
from api.deps import get_settings

COOKIE = "stepdown_console"
COOKIE_PATH = "/console"
CONSOLE_ROLES = ("ops", "intake")
OPS_ONLY = ("ops",)
CSRF_FIELD = "csrf"
# The CSRF token is an HMAC of this label keyed by the session's token: a page from another
# origin can neither read the cookie nor compute the token, and no server state is needed.
CSRF_LABEL = b"stepdown-console-csrf-v1"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Session:
    """A signed-in console user and the CSRF token their forms carry."""

    user: User
    csrf: str

    @property
    def role(self) -> str:
        return self.user.role

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


def role_for(request: Request, token: str) -> str | None:
    """The role of `token`, checked exactly as api.auth checks a bearer token."""
    return role_of(get_settings(request).api_tokens, token)


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), CSRF_LABEL, hashlib.sha256).hexdigest()


def session_for(request: Request, token: str) -> Session | None:
    role = role_for(request, token) if token else None
    if role is None:
        return None
    return Session(User(actor=actor_of(token), role=role), csrf_token(token))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def current_session(request: Request) -> Session | None:
    session = session_for(request, request.cookies.get(COOKIE, ""))
    if session is not None:
        # The API's audit middleware reads the actor from here.
        request.state.user = session.user
    return session


def login_redirect(request: Request) -> RedirectResponse:
    # Only the path travels (an episode id at most, never PHI); filters are not kept.
    target = f"/console/login?next={quote(request.url.path, safe='/')}"
    return RedirectResponse(target, status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after login: a console path only, so the login is not an open redirect."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return "/console"
    return parts.path


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def same_origin(request: Request) -> bool:
    """A POST whose Origin names another site is refused before its form is even read."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form fields (last value wins), or None for another content type."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return None
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def csrf_ok(session: Session, form: dict[str, str]) -> bool:
    return hmac.compare_digest(form.get(CSRF_FIELD, "").encode(), session.csrf.encode())

"""Console sessions: a random id in an HttpOnly cookie (the session itself kept server-side,
revoked at logout and when its user is disabled, ended after an idle timeout), role gates and
HMAC CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from api.auth import User, user_of
from api.deps import blocking, get_deps, request_settings
from api.identity import new_session_id, session_hash
from settings import TOKEN_HASH, Settings, hash_token
from store.users import SessionRecord, UserStore

COOKIE = "stepdown_console"
COOKIE_PATH = "/console"
CONSOLE_ROLES = ("ops", "intake")
OPS_ONLY = ("ops",)
CSRF_FIELD = "csrf"
# The CSRF token is an HMAC of this label keyed by the session id: a page from another
# origin can neither read the cookie nor compute the token.
CSRF_LABEL = b"stepdown-console-csrf-v1"
FORM_TYPE = "application/x-www-form-urlencoded"
# A session's last-seen time is written at most this often: not one write per page.
TOUCH_EVERY = timedelta(seconds=60)
MAX_COOKIE = 100


@dataclass(frozen=True)
class Session:
    """A signed-in console user, the CSRF token their forms carry, and the stored session."""

    user: User
    csrf: str
    id_hash: str = ""
    # Signed in with a one-time password: only the password page until it is replaced.
    password_expired: bool = False

    @property
    def role(self) -> str:
        return self.user.role

    def may(self, *roles: str) -> bool:
        return self.user.holds(*roles)


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), CSRF_LABEL, hashlib.sha256).hexdigest()


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def users_of(request: Request) -> UserStore:
    users = get_deps(request).users
    if users is None:
        raise RuntimeError("the console needs the users store (ApiDeps.users)")
    return users


def open_session(request: Request, user: User, token: str | None) -> tuple[str, Session]:
    """A new stored session for `user` (signed in with `token` when a role token); its id."""
    session_id = new_session_id()
    id_hash = session_hash(session_id)
    role_token = hash_token(token) if token and user.user_id is None else None
    now = get_deps(request).clock()
    users_of(request).open_session(id_hash, user.user_id, role_token, user.actor, user.role, now)
    return session_id, Session(user, csrf_token(session_id), id_hash)


def _token_role(settings: Settings, token_hash: str) -> str | None:
    """The role a role token (by its hash) still has in the settings; None once removed."""
    for known, role in settings.api_tokens.items():
        expected = known if TOKEN_HASH.fullmatch(known) else hash_token(known)
        if hmac.compare_digest(expected.encode(), token_hash.encode()):
            return role
    return None


def _live_user(settings: Settings, record: SessionRecord, now: datetime) -> User | None:
    idle = timedelta(minutes=settings.console_idle_minutes)
    lifetime = timedelta(hours=settings.console_session_hours)
    if record.revoked_at is not None:
        return None
    if now - record.last_seen_at > idle or now - record.created_at > lifetime:
        return None
    if record.user is not None:
        return user_of(record.user) if record.user.active else None
    role = _token_role(settings, record.token_hash) if record.token_hash else None
    return User(actor=record.actor, role=role) if role is not None else None


def load_session(request: Request) -> Session | None:
    """The session the cookie names, if it is still live (synchronous: touches the store)."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or len(cookie) > MAX_COOKIE:
        return None
    users, now = users_of(request), get_deps(request).clock()
    record = users.session(session_hash(cookie))
    if record is None:
        return None
    user = _live_user(request_settings(request), record, now)
    if user is None:
        if record.revoked_at is None:
            users.revoke_session(record.id_hash, now)  # timed out: never usable again
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        users.touch_session(record.id_hash, now)
    expired = record.user is not None and record.user.password_expired
    return Session(user, csrf_token(cookie), record.id_hash, expired)


async def current_session(request: Request) -> Session | None:
    session = await blocking(load_session, request)
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


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
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

"""Bearer tokens to people and roles, and the role each route needs, as Annotated dependencies.

A bearer token is either a user's personal token (`stepdown users token`, stored hashed in
the users table) or a role token of STEPDOWN_API_TOKENS (a service, no person); in dev mode
the dev role tokens stand for the seeded dev users named after their roles.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import problems
from api.deps import ApiDeps, blocking, get_deps, request_settings, utc_now
from api.problems import ApiProblem
from api.throttle import Throttle, Throttles
from settings import DEV_TOKENS, TOKEN_HASH, Settings, hash_token
from store.throttles import MemoryThrottleCounts
from store.users import UserRecord

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stepdown"'}
# Declares the scheme in /openapi.json, so /docs' "Authorize" sends the token; checking it
# stays with checked_user (auto_error off: a missing token is our own 401 problem).
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A personal token (`stepdown users token USERNAME`) or a role token.",
)
security_log = logging.getLogger("stepdown.security")


@dataclass(frozen=True)
class User:
    """A caller: a person (`user_id`, `name`) or a role token known by its fingerprint.

    `role` is the one the audit log records; `roles` all a person holds.
    """

    actor: str
    role: str
    user_id: int | None = None
    name: str | None = None
    roles: tuple[str, ...] = ()

    def holds(self, *roles: str) -> bool:
        held = self.roles or (self.role,)
        return "admin" in held or any(role in held for role in roles)

    @property
    def label(self) -> str:
        """How pages name the caller: the person's name, else the role."""
        return self.name or self.role


def primary_role(roles: list[str]) -> str:
    return "admin" if "admin" in roles else (roles[0] if roles else "none")


def user_of(record: UserRecord) -> User:
    return User(
        actor=f"user:{record.username}",
        role=primary_role(record.roles),
        user_id=record.id,
        name=record.display_name,
        roles=tuple(record.roles),
    )


def role_of(tokens: Mapping[str, str], token: str) -> str | None:
    """The role `token` was issued for, by its SHA-256 against every configured hash.

    Every entry is compared, equal-length digests with `hmac.compare_digest`, so neither
    timing nor an early exit tells which entry matched; plain entries (dev mode only) are
    hashed first and compared the same way.
    """
    presented = hash_token(token).encode()
    role = None
    for known, known_role in tokens.items():
        expected = known if TOKEN_HASH.fullmatch(known) else hash_token(known)
        if hmac.compare_digest(expected.encode(), presented):
            role = known_role
    return role


def actor_of(token: str) -> str:
    """How the audit log names a caller: a short fingerprint, never the token."""
    return f"token:{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def user_for_token(request: Request, token: str) -> User | None:
    """Who `token` stands for: a role token of the settings, else a personal token."""
    settings = request_settings(request)
    users = get_deps(request).users
    role = role_of(settings.api_tokens, token)
    if role is not None:
        if settings.dev_mode and users is not None and token in DEV_TOKENS:
            record = users.by_username(DEV_TOKENS[token])
            if record is not None:
                # A disabled dev user's token is refused like any revoked token.
                return user_of(record) if record.active else None
        return User(actor=actor_of(token), role=role)
    if users is None or not token:
        return None
    record = users.user_for_token(hash_token(token))
    return user_of(record) if record is not None else None


def make_throttles(settings: Settings, deps: ApiDeps | None) -> Throttles:
    """The throttles over the deps' shared counts (in memory only for an app without SQL,
    or one whose lifespan has not provided its deps yet)."""
    shared = deps.throttle_counts if deps is not None else None
    counts = shared or MemoryThrottleCounts()
    clock = deps.clock if deps is not None else utc_now
    window = settings.throttle_window_seconds

    def throttle(scope: str, limit: int) -> Throttle:
        return Throttle(scope, limit, window, counts, clock)

    return Throttles(
        signin_account=throttle("signin_account", settings.signin_failures_per_account),
        signin_address=throttle("signin_address", settings.signin_failures_per_address),
        bearer_address=throttle("bearer_address", settings.bearer_failures_per_address),
    )


_throttles_lock = threading.Lock()


def throttles_of(request: Request) -> Throttles:
    """The app's throttles, made at first use: the deps exist only once the lifespan ran."""
    state = request.app.state
    with _throttles_lock:
        if state.deps is None:
            # No deps yet (an app used without its lifespan): counted in this process.
            if getattr(state, "early_throttles", None) is None:
                state.early_throttles = make_throttles(request_settings(request), None)
            early: Throttles = state.early_throttles
            return early
        if getattr(state, "throttles", None) is None:
            state.throttles = make_throttles(request_settings(request), get_deps(request))
        throttles: Throttles = state.throttles
    return throttles


def address_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def too_many_attempts(wait: int) -> ApiProblem:
    detail = f"too many failed attempts from this address; retry in {wait} seconds"
    return ApiProblem(429, "too_many_attempts", detail, headers={"Retry-After": str(wait)})


def checked_user(request: Request) -> User:
    """The caller, or 401; an address that keeps presenting bad tokens waits (429)."""
    throttle = throttles_of(request).bearer_address
    address = address_of(request)
    wait = throttle.retry_after(address)
    if wait is not None:
        raise too_many_attempts(wait)
    token = bearer_token(request)
    user = user_for_token(request, token) if token else None
    if user is None:
        if token:
            # Never the token, nor its fingerprint: a guess is still someone's secret.
            wait = throttle.fail(address)
            security_log.warning(
                "bearer token refused: from=%s%s",
                address,
                f" throttled={wait}s" if wait is not None else "",
            )
        raise unauthenticated()
    return user


def current_user(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> User:
    user = checked_user(request)
    request.state.user = user
    return user


def unauthenticated() -> ApiProblem:
    detail = "send `Authorization: Bearer <token>` with a token issued for your role"
    return ApiProblem(401, "unauthenticated", detail, headers=CHALLENGE)


# Routes that take no bearer token: the payer webhook proves itself by its signature.
TOKENLESS_ROUTES = frozenset({"webhook.payer", "healthz", "metrics"})


async def on_validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI parses the body and parameters before any dependency runs; a caller without a
    valid token still hears 401 first, and learns nothing about what the route expects."""
    assert isinstance(exc, RequestValidationError)
    name = getattr(request.scope.get("route"), "name", None)
    if name not in TOKENLESS_ROUTES:
        try:
            await blocking(checked_user, request)
        except ApiProblem as refused:
            return problems.render(request, refused)
    return await problems.on_validation(request, exc)


def allow(*roles: str) -> Callable[[User], User]:
    """A dependency that lets `roles` (and admin) through: 401 without a token, 403 otherwise."""

    def check(user: CurrentUser) -> User:
        if not user.holds(*roles):
            allowed = ", ".join(dict.fromkeys((*roles, "admin")))
            raise ApiProblem(
                403,
                "forbidden",
                f"the {user.role} role may not do this; it needs one of: {allowed}",
                role=user.role,
            )
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
IntakeUser = Annotated[User, Depends(allow("intake"))]
BillingUser = Annotated[User, Depends(allow("billing"))]
OpsUser = Annotated[User, Depends(allow("ops"))]
IntakeOrOpsUser = Annotated[User, Depends(allow("intake", "ops"))]
ReaderUser = Annotated[User, Depends(allow("intake", "billing", "ops"))]

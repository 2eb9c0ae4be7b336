"""Bearer tokens to roles, and the role each route needs, as Annotated dependencies."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api import problems
from api.deps import get_settings
from api.problems import ApiProblem
from settings import TOKEN_HASH, hash_token

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stepdown"'}


@dataclass(frozen=True)
class User:
    """A caller known by the fingerprint of its token (the token itself is never kept)."""

    actor: str
    role: str


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


def authenticate(request: Request) -> User | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    role = role_of(get_settings(request).api_tokens, token)
    if role is None:
        return None
    return User(actor=actor_of(token), role=role)


def current_user(request: Request) -> User:
    user = authenticate(request)
    if user is None:
        raise unauthenticated()
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
    if name not in TOKENLESS_ROUTES and authenticate(request) is None:
        return problems.render(request, unauthenticated())
    return await problems.on_validation(request, exc)


def allow(*roles: str) -> Callable[[User], User]:
    """A dependency that lets `roles` (and admin) through: 401 without a token, 403 otherwise."""

    def check(user: CurrentUser) -> User:
        if user.role != "admin" and user.role not in roles:
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

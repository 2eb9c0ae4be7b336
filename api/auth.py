"""Bearer tokens to roles, and the role each route needs, as Annotated dependencies."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api import problems
from api.deps import get_settings
from api.problems import ApiProblem

ROLES = ("intake", "billing", "ops", "admin")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stepdown"'}


@dataclass(frozen=True)
class User:
    """A caller known by the fingerprint of its token (the token itself is never kept)."""

    actor: str
    role: str


def authenticate(request: Request) -> User | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    role = None
    # Every configured token is compared, so timing does not reveal which one matched.
    for known, known_role in get_settings(request).api_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            role = known_role
    if role is None:
        return None
    return User(actor=f"token:{hashlib.sha256(token.encode()).hexdigest()[:12]}", role=role)


def current_user(request: Request) -> User:
    user = authenticate(request)
    if user is None:
        raise unauthenticated()
    request.state.user = user
    return user


def unauthenticated() -> ApiProblem:
    detail = "send `Authorization: Bearer <token>` with a token issued for your role"
    return ApiProblem(401, "unauthenticated", detail, headers=CHALLENGE)


async def on_validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI parses a JSON body before any dependency runs; a stranger still gets 401 first."""
    assert isinstance(exc, RequestValidationError)
    garbled = any(error.get("type") == "json_invalid" for error in exc.errors())
    if garbled and authenticate(request) is None:
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

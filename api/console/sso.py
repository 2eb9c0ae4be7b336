"""Single sign-on for staff with the organization's OpenID Connect provider: the
authorization code flow with PKCE (S256), the ID token's signature checked against the
provider's JWKS and its issuer, audience, expiry and nonce checked with joserfc.

The flow's secrets (state, nonce, PKCE verifier) travel in a short-lived HttpOnly cookie
sealed with a key derived from the payload keyring, so the callback may reach any replica.
The person is found (or added, without a password) by the configured username claim; their
roles come from the configured claim through STEPDOWN_OIDC_ROLE_MAP on every sign-in. A
disabled person stays out; a person with a local password signs in with it, not by SSO.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from api.auth import user_of
from api.console.gate import forbidden
from api.console.page import message_page
from api.console.session import (
    CONSOLE_ROLES,
    open_session,
    safe_next,
    set_session_cookie,
    users_of,
)
from api.deps import blocking, get_deps, request_settings
from settings import Settings
from store.users import UserExists, UserRecord

router = APIRouter(include_in_schema=False)
security_log = logging.getLogger("stepdown.security")

FLOW_COOKIE = "stepdown_sso"
FLOW_PATH = "/console/sso"
FLOW_SECONDS = 600
HTTP_TIMEOUT = 10.0
# Asymmetric signatures only: an HMAC-signed ID token would be keyed by the client secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
MAX_COOKIE = 4000


class SsoRefused(Exception):
    """Why a sign-in through the provider did not happen, in words a person can act on."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url(hashlib.sha256(verifier.encode()).digest())


def _flow_key(settings: Settings) -> bytes:
    keys = b"".join(v for _, v in sorted(settings.payload_keyring().items()))
    if not keys:
        raise SsoRefused("single sign-on needs STEPDOWN_PAYLOAD_KEYS, which seal its flow")
    return hmac.new(keys, b"stepdown console sso flow", hashlib.sha256).digest()


def seal_flow(settings: Settings, flow: dict[str, Any]) -> str:
    body = b64url(json.dumps(flow, separators=(",", ":")).encode())
    mac = b64url(hmac.new(_flow_key(settings), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def open_flow(settings: Settings, sealed: str, now: float) -> dict[str, Any]:
    body, _, mac = sealed.partition(".")
    expected = b64url(hmac.new(_flow_key(settings), body.encode(), hashlib.sha256).digest())
    if not sealed or len(sealed) > MAX_COOKIE or not hmac.compare_digest(mac, expected):
        raise SsoRefused("this sign-in was not started here, or its cookie was lost")
    flow: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if now > float(flow["exp"]):
        raise SsoRefused("this sign-in took too long; start it again")
    return flow


class Provider:
    """The provider's discovery document and keys, read over HTTPS (kept for a while)."""

    def __init__(self, issuer: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self._transport = transport
        self._meta: dict[str, Any] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=self._transport)

    async def meta(self) -> dict[str, Any]:
        if self._meta is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            async with self.client() as http:
                response = await http.get(url)
            if response.status_code != 200:
                raise SsoRefused(
                    f"the identity provider's discovery answered {response.status_code}"
                )
            meta: dict[str, Any] = response.json()
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise SsoRefused("the identity provider names another issuer than configured")
            self._meta = meta
        return self._meta

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh or time.monotonic() - self._keys[0] > 3600:
            async with self.client() as http:
                response = await http.get((await self.meta())["jwks_uri"])
            response.raise_for_status()
            self._keys = (time.monotonic(), KeySet.import_key_set(response.json()))
        return self._keys[1]


def provider_of(request: Request) -> Provider:
    settings = request_settings(request)
    assert settings.oidc_issuer is not None
    provider: Provider | None = getattr(request.app.state, "sso_provider", None)
    if provider is None or provider.issuer != settings.oidc_issuer.rstrip("/"):
        transport = getattr(request.app.state, "sso_transport", None)
        provider = Provider(settings.oidc_issuer, transport)
        request.app.state.sso_provider = provider
    return provider


def callback_url(request: Request) -> str:
    return str(request.url_for("console.sso_callback"))


@router.get("/sso", name="console.sso")
async def start(request: Request, next: str = "/console") -> Response:
    settings = request_settings(request)
    if not settings.sso_enabled():
        return message_page("Not found", "Single sign-on is not configured.", None, 404)
    try:
        meta = await provider_of(request).meta()
        verifier, state, nonce = (secrets.token_urlsafe(48) for _ in range(3))
        sealed = seal_flow(
            settings,
            {"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next),
             "exp": time.time() + FLOW_SECONDS},
        )  # fmt: skip
    except (SsoRefused, httpx.HTTPError) as err:
        return refused(request, err)
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": callback_url(request),
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"{meta['authorization_endpoint']}?{urlencode(params)}", 303)
    # Lax, not Strict: the provider's redirect back is a top-level navigation from its site.
    response.set_cookie(
        FLOW_COOKIE, sealed, max_age=FLOW_SECONDS, path=FLOW_PATH, httponly=True,
        samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/sso/callback", name="console.sso_callback")
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    settings = request_settings(request)
    if not settings.sso_enabled():
        return message_page("Not found", "Single sign-on is not configured.", None, 404)
    try:
        flow = open_flow(settings, request.cookies.get(FLOW_COOKIE, ""), time.time())
        if error:
            raise SsoRefused(f"the identity provider refused: {error[:100]}")
        if not code or not hmac.compare_digest(state.encode(), str(flow["state"]).encode()):
            raise SsoRefused("the answer does not belong to this sign-in")
        claims = await id_token_claims(request, settings, code, flow)
        roles = mapped_roles(settings, claims)
        record = await blocking(person_for, request, settings, claims, roles)
    except (SsoRefused, httpx.HTTPError) as err:
        return refused(request, err)
    user = user_of(record)
    request.state.user = user
    if not user.holds(*CONSOLE_ROLES):
        request.state.outcome = "forbidden"
        return forbidden(user.role, None, CONSOLE_ROLES)
    session_id, _ = await blocking(open_session, request, user, None)
    request.state.outcome = "signed_in"
    response = RedirectResponse(safe_next(flow.get("next")), status_code=303)
    set_session_cookie(request, response, session_id)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


async def id_token_claims(
    request: Request, settings: Settings, code: str, flow: dict[str, Any]
) -> dict[str, Any]:
    """The code exchanged (with the PKCE verifier) for an ID token, and its checked claims."""
    provider = provider_of(request)
    meta = await provider.meta()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(request),
        "client_id": settings.oidc_client_id,
        "code_verifier": flow["verifier"],
    }
    if settings.oidc_client_secret is not None:
        form["client_secret"] = settings.oidc_client_secret.get_secret_value()
    async with provider.client() as http:
        response = await http.post(meta["token_endpoint"], data=form)
    if response.status_code != 200:
        raise SsoRefused(f"the identity provider refused the code ({response.status_code})")
    raw = response.json().get("id_token")
    if not isinstance(raw, str):
        raise SsoRefused("the identity provider sent no ID token")
    try:
        token = jwt.decode(raw, await provider.keys(), algorithms=ALGORITHMS)
    except JoseError:
        try:  # the provider may have rotated its keys since they were read
            token = jwt.decode(raw, await provider.keys(refresh=True), algorithms=ALGORITHMS)
        except (JoseError, ValueError) as err:
            raise SsoRefused(f"the ID token's signature does not check ({err.error})") from None
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": settings.oidc_client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": flow["nonce"]},
        leeway=60,
    )
    try:
        registry.validate(token.claims)
    except JoseError as err:
        raise SsoRefused(f"the ID token does not hold ({err.error}: {err.description})") from None
    return dict(token.claims)


def mapped_roles(settings: Settings, claims: dict[str, Any]) -> list[str]:
    values = claims.get(settings.oidc_roles_claim) or []
    if isinstance(values, str):
        values = [values]
    # Values the map does not name are the organization's other groups: ignored.
    roles = [settings.oidc_role_map.get(v, "") for v in values if isinstance(v, str)]
    roles = [r for r in roles if r]  # mapped, known (settings checks the map's roles)
    if not roles:
        raise SsoRefused("your organization gives you no stepdown role; ask its administrator")
    return list(dict.fromkeys(roles))


def person_for(
    request: Request, settings: Settings, claims: dict[str, Any], roles: list[str]
) -> UserRecord:
    """The person the token names, added at the first sign-in; roles as the provider says."""
    username = str(claims.get(settings.oidc_username_claim) or "").strip().lower()
    if not username or len(username) > 80:
        raise SsoRefused(f"the ID token has no usable {settings.oidc_username_claim}")
    name = str(claims.get("name") or username)[:200]
    users, now = users_of(request), get_deps(request).clock()
    record = users.by_username(username)
    if record is None:
        try:
            record = users.add(username, name, roles, None, now)
        except UserExists:
            record = users.by_username(username)
            assert record is not None
    if record.password_hash is not None:
        raise SsoRefused(f"{username} signs in with a password here, not single sign-on")
    if not record.active:
        raise SsoRefused(f"{username} is disabled here")
    users.set_roles(record.id, roles, name, now)
    found = users.by_username(username)
    assert found is not None
    return found


def refused(request: Request, err: Exception) -> Response:
    request.state.outcome = "unauthenticated"
    reason = str(err) if isinstance(err, SsoRefused) else "the identity provider did not answer"
    security_log.warning("single sign-on refused: %s", reason)
    response = message_page("Sign-in refused", reason, None, 401)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response

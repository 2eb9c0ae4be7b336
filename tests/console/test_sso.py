"""Single sign-on against a small OpenID Connect provider served over real HTTP in the test:
discovery document, authorization endpoint, token endpoint (checks the PKCE verifier) and
JWKS, its ID tokens signed with its own RSA key. Nothing of the client side is faked."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from api.app import create_app
from api.console.session import COOKIE
from api.console.sso import pkce_challenge
from api.identity import hash_password
from api.people import add_user, disable_user
from store.sql_users import SqlUserStore
from tests.support.api_stack import Stack, api_settings
from tests.support.console_client import visible_text
from tests.support.http import served

CLIENT_ID = "stepdown-console"
BASE = "http://stepdown.test"
ROLE_MAP = {"ur-nurses": "ops", "front-desk": "intake", "finance": "billing"}


def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": uuid.uuid4().hex[:12]}, private=True)


@dataclass
class Provider:
    """The identity provider's state: who signs in next, the codes it handed out."""

    key: RSAKey = field(default_factory=lambda: rsa_key())
    url: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Misbehaviours a test may ask for.
    sign_with: RSAKey | None = None
    claims_override: dict[str, Any] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        async def authorize(request: Request) -> Any:
            q = request.query_params
            if (
                q.get("client_id") != CLIENT_ID
                or q.get("response_type") != "code"
                or q.get("code_challenge_method") != "S256"
                or not q.get("code_challenge")
                or "openid" not in q.get("scope", "").split()
            ):
                return JSONResponse({"error": "invalid_request"}, 400)
            code = uuid.uuid4().hex
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
                "redirect_uri": q["redirect_uri"],
                "person": dict(self.person),
            }
            query = urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{q['redirect_uri']}?{query}", 302)

        @app.post("/token")
        async def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            client_id: str = Form(),
            code_verifier: str = Form(),
        ) -> Any:
            issued = self.codes.pop(code, None)  # a code is good once
            if (
                issued is None
                or grant_type != "authorization_code"
                or client_id != CLIENT_ID
                or redirect_uri != issued["redirect_uri"]
                or pkce_challenge(code_verifier) != issued["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, 400)
            now = int(time.time())
            claims = {
                "iss": self.url,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": issued["nonce"],
                **issued["person"],
                **self.claims_override,
            }
            signing = self.sign_with or self.key
            header = {"alg": "RS256", "kid": signing.kid}
            id_token = jwt.encode(header, claims, signing)
            return {"access_token": uuid.uuid4().hex, "token_type": "Bearer", "id_token": id_token}

        return app


@dataclass
class Sso:
    provider: Provider
    web: httpx.AsyncClient
    stack: Stack

    def person(self, groups: list[str], **claims: Any) -> str:
        username = f"sso-{uuid.uuid4().hex[:8]}"
        self.provider.person = {
            "sub": uuid.uuid4().hex,
            "preferred_username": username,
            "name": "Sam Single",
            "groups": groups,
        } | claims
        return username

    async def to_provider(self, next_path: str = "/console") -> httpx.Response:
        started = await self.web.get("/console/sso", params={"next": next_path})
        assert started.status_code == 303, started.text
        async with httpx.AsyncClient() as browser:  # the provider's own site, over HTTP
            return await browser.get(started.headers["location"])

    async def sign_in(self, next_path: str = "/console") -> httpx.Response:
        at_provider = await self.to_provider(next_path)
        assert at_provider.status_code == 302, at_provider.text
        back = at_provider.headers["location"]
        assert back.startswith(f"{BASE}/console/sso/callback?")
        return await self.web.get(back.removeprefix(BASE))


@pytest_asyncio.fixture(loop_scope="session")
async def sso(console_stack: Stack) -> AsyncIterator[Sso]:
    provider = Provider()
    async with served(provider.app(), log_level="warning") as url:
        provider.url = url
        settings = api_settings(
            STEPDOWN_TASK_QUEUE=console_stack.settings.task_queue,
            STEPDOWN_OIDC_ISSUER=url,
            STEPDOWN_OIDC_CLIENT_ID=CLIENT_ID,
            STEPDOWN_OIDC_ROLE_MAP={
                "ur-nurses": "ops",
                "front-desk": "intake",
                "finance": "billing",
            },
        )
        app = create_app(settings, deps=dataclasses.replace(console_stack.deps))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
            yield Sso(provider, web, console_stack)


async def test_a_person_signs_in_through_the_provider_with_pkce(sso: Sso) -> None:
    username = sso.person(["ur-nurses", "unrelated"])

    login = await sso.web.get("/console/login", params={"next": "/console/episodes"})
    done = await sso.sign_in("/console/episodes")
    page = await sso.web.get("/console")

    assert 'href="/console/sso?next=/console/episodes"' in login.text
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/episodes"
    assert "stepdown_sso" not in sso.web.cookies  # the flow's cookie is spent
    assert page.status_code == 200
    assert "signed in as Sam Single (ops)" in visible_text(page.text)
    record = SqlUserStore(sso.stack.engine).by_username(username)
    assert record is not None and record.roles == ["ops"] and record.password_hash is None


async def test_the_roles_follow_the_provider_at_every_sign_in(sso: Sso) -> None:
    username = sso.person(["ur-nurses"])
    await sso.sign_in()
    sso.web.cookies.clear()
    sso.person(["front-desk"], preferred_username=username)

    await sso.sign_in()

    record = SqlUserStore(sso.stack.engine).by_username(username)
    assert record is not None and record.roles == ["intake"]


async def test_the_discovery_document_starts_the_flow_with_an_s256_challenge(sso: Sso) -> None:
    started = await sso.web.get("/console/sso")

    target = urlsplit(started.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{sso.provider.url}/authorize"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == f"{BASE}/console/sso/callback"
    assert query["client_id"] == CLIENT_ID and query["scope"] == "openid profile email"
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/console/sso" in cookie
    assert query["state"] not in cookie.split(";")[0].split(".")[1]  # sealed, not a copy


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [
        ({"nonce": "another"}, "nonce"),
        ({"aud": "another-client"}, "aud"),
        ({"iss": "https://elsewhere.example"}, "iss"),
        ({"exp": int(time.time()) - 3600}, "expired"),
    ],
)
async def test_an_id_token_that_does_not_hold_is_refused(
    sso: Sso, misbehaviour: dict[str, Any], reason: str
) -> None:
    sso.person(["ur-nurses"])
    sso.provider.claims_override = misbehaviour
    try:
        refused = await sso.sign_in()
    finally:
        sso.provider.claims_override = {}

    assert refused.status_code == 401
    assert "does not hold" in visible_text(refused.text)
    assert COOKIE not in sso.web.cookies


async def test_an_id_token_signed_by_another_key_is_refused(sso: Sso) -> None:
    sso.person(["ur-nurses"])
    sso.provider.sign_with = rsa_key()
    try:
        refused = await sso.sign_in()
    finally:
        sso.provider.sign_with = None

    assert refused.status_code == 401
    assert "signature does not check" in visible_text(refused.text)
    assert COOKIE not in sso.web.cookies


async def test_a_forged_state_a_missing_flow_and_a_replayed_code_are_refused(sso: Sso) -> None:
    sso.person(["ur-nurses"])
    at_provider = await sso.to_provider()
    back = urlsplit(at_provider.headers["location"])
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    callback = "/console/sso/callback"

    forged = await sso.web.get(callback, params={"code": query["code"], "state": "guess"})
    stranger = httpx.AsyncClient(transport=sso.web._transport, base_url=BASE)
    async with stranger:
        no_flow = await stranger.get(callback, params=query)
    # The forged try spent the flow's cookie; a fresh flow's cookie with the old code:
    fresh = await sso.to_provider()
    fresh_state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
    replayed = await sso.web.get(callback, params={"code": query["code"], "state": fresh_state})

    assert forged.status_code == 401 and "does not belong" in visible_text(forged.text)
    assert no_flow.status_code == 401 and "not started here" in visible_text(no_flow.text)
    # The old code was issued for another PKCE challenge (and is spent): the provider refuses.
    assert replayed.status_code == 401 and "refused the code" in visible_text(replayed.text)
    assert COOKIE not in sso.web.cookies


async def test_a_person_without_a_mapped_role_or_a_console_role_is_kept_out(sso: Sso) -> None:
    sso.person(["unrelated"])
    no_role = await sso.sign_in()
    sso.person(["finance"])
    billing = await sso.sign_in()

    assert no_role.status_code == 401 and "no stepdown role" in visible_text(no_role.text)
    assert billing.status_code == 403
    assert COOKIE not in sso.web.cookies


async def test_a_disabled_person_and_a_password_account_are_not_signed_in(sso: Sso) -> None:
    users, now = SqlUserStore(sso.stack.engine), sso.stack.deps.clock()
    gone = sso.person(["ur-nurses"])
    await sso.sign_in()
    sso.web.cookies.clear()
    disable_user(users, gone, now)
    disabled = await sso.sign_in()

    local = f"local-{uuid.uuid4().hex[:8]}"
    record, _ = add_user(users, local, ["ops"], "Lo Cal", now)
    users.set_password(record.id, hash_password("a long local passphrase"), now)
    sso.person(["ur-nurses"], preferred_username=local)
    taken = await sso.sign_in()

    assert disabled.status_code == 401 and "is disabled" in visible_text(disabled.text)
    assert taken.status_code == 401 and "signs in with a password" in visible_text(taken.text)
    assert COOKIE not in sso.web.cookies


async def test_without_configuration_there_is_no_single_sign_on(console_stack: Stack) -> None:
    app = create_app(
        api_settings(STEPDOWN_TASK_QUEUE=console_stack.settings.task_queue),
        deps=dataclasses.replace(console_stack.deps),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
        start = await web.get("/console/sso")
        back = await web.get("/console/sso/callback", params={"code": "x", "state": "y"})
        login = await web.get("/console/login")

    assert start.status_code == back.status_code == 404
    assert "single sign-on" not in login.text.lower()

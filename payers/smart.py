"""SMART Backend Services: an OAuth 2.0 client-credentials token bought with a JWT client
assertion signed by our private key (RS384 or ES384), cached until shortly before it expires."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from activities.ports import InvalidRequest
from payers.credentials import MissingSecret, resolve
from store.payers import PasEndpoint, SigningAlgorithm

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS384", "ES384"]
# SMART Backend Services: the assertion lives at most five minutes.
ASSERTION_LIFETIME = 300
# A token is renewed this long before the payer says it expires, so no call carries a stale one.
EXPIRY_MARGIN = 30.0
DEFAULT_LIFETIME = 300


class PayerAuthRefused(InvalidRequest):
    """The payer's token endpoint refused our client (unknown client, bad key or scope);
    retrying cannot help until an admin fixes the payer's settings."""


SigningKey = RSAKey | ECKey


def load_signing_key(ref: str, algorithm: SigningAlgorithm) -> SigningKey:
    """The PEM private key that `ref` names, as the key type `algorithm` needs."""
    try:
        pem = resolve(ref)
        kind = RSAKey if algorithm == "RS384" else ECKey
        return kind.import_key(pem)
    except MissingSecret as err:
        raise PayerAuthRefused(f"the PAS signing key is unavailable: {err}") from None
    except (ValueError, TypeError, JoseError) as err:
        raise PayerAuthRefused(
            f"the PAS signing key ({ref}) is not a PEM private key for {algorithm}: "
            f"{type(err).__name__}"
        ) from None


@dataclass
class _Token:
    value: str
    expires_at: float


class SmartTokenSource:
    """One payer's access tokens; `token()` fetches once and reuses until near expiry."""

    def __init__(
        self,
        endpoint: PasEndpoint,
        key: SigningKey,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self._endpoint = endpoint
        self._key = key
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self._cached: _Token | None = None
        self._lock = asyncio.Lock()
        self.fetched = 0

    def assertion(self) -> str:
        """The signed client assertion: iss = sub = client id, aud = the token endpoint."""
        now = int(self._clock())
        e = self._endpoint
        header = {"alg": e.algorithm, "typ": "JWT"} | ({"kid": e.key_id} if e.key_id else {})
        claims = {
            "iss": e.client_id,
            "sub": e.client_id,
            "aud": e.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(header, claims, self._key, algorithms=ALGORITHMS)

    async def token(self) -> str:
        async with self._lock:
            cached = self._cached
            if cached is not None and self._clock() < cached.expires_at:
                return cached.value
            self._cached = await self._fetch()
            return self._cached.value

    def forget(self) -> None:
        """Drops the cached token, e.g. after the payer answered 401 to it."""
        self._cached = None

    async def _fetch(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "scope": self._endpoint.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            response = await client.post(self._endpoint.token_url, data=form)
        self.fetched += 1
        if response.status_code in (400, 401, 403):
            raise PayerAuthRefused(
                f"the token endpoint {self._endpoint.token_url} refused client "
                f"{self._endpoint.client_id}: {response.status_code} {response.text[:200]}"
            )
        response.raise_for_status()  # 5xx: the activity retries
        body = response.json()
        lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN, lifetime / 2)
        return _Token(str(body["access_token"]), expires_at)

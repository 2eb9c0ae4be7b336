"""SMART Backend Services against the simulator's token endpoint: a signed assertion buys a
token, the token is reused until near expiry, a wrong or replayed assertion is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from payers.pas_server import PasServerConfig, pas_router
from payers.simulator import build_decision
from payers.smart import PayerAuthRefused, SmartTokenSource, load_signing_key
from store.payers import PasEndpoint
from tests.support.pas_keys import key_pair

TOKEN_URL = "http://payer.test/fhir/auth/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def server(clients: dict[str, str], clock: Clock) -> httpx.ASGITransport:
    app = FastAPI()
    router, _ = pas_router(
        PasServerConfig(clients=clients, token_url=TOKEN_URL),
        lambda request: "A1",
        build_decision,
        clock,
    )
    app.include_router(router)
    return httpx.ASGITransport(app=app)


def endpoint(private_ref: str, algorithm: str = "ES384", **overrides: str) -> PasEndpoint:
    values = {
        "base_url": "http://payer.test/fhir",
        "token_url": TOKEN_URL,
        "client_id": "stepdown-test",
        "private_key": private_ref,
        "algorithm": algorithm,
        "key_id": "k1",
    }
    return PasEndpoint.model_validate(values | overrides)


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
async def test_a_signed_assertion_buys_a_token_that_is_reused_until_expiry(
    tmp_path: Path, algorithm: str
) -> None:
    keys, clock = key_pair(tmp_path, algorithm), Clock()
    config = endpoint(keys.private_ref, algorithm)
    source = SmartTokenSource(
        config,
        load_signing_key(keys.private_ref, config.algorithm),
        transport=server({"stepdown-test": keys.public_pem}, clock),
        clock=clock,
    )

    first = await source.token()
    clock.now += 200
    second = await source.token()
    clock.now += 100  # past expiry minus the margin
    third = await source.token()

    assert first == second != third
    assert source.fetched == 2


async def test_an_assertion_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    ours, registered, clock = (
        key_pair(tmp_path, name="ours"),
        key_pair(tmp_path, name="reg"),
        Clock(),
    )
    source = SmartTokenSource(
        endpoint(ours.private_ref),
        load_signing_key(ours.private_ref, "ES384"),
        transport=server({"stepdown-test": registered.public_pem}, clock),
        clock=clock,
    )

    with pytest.raises(PayerAuthRefused, match="refused client stepdown-test: 401"):
        await source.token()


async def test_an_unknown_client_or_a_replayed_assertion_is_refused(tmp_path: Path) -> None:
    keys, clock = key_pair(tmp_path), Clock()
    transport = server({"stepdown-test": keys.public_pem}, clock)
    key = load_signing_key(keys.private_ref, "ES384")
    stranger = SmartTokenSource(endpoint(keys.private_ref, client_id="who"), key, clock=clock)
    known = SmartTokenSource(endpoint(keys.private_ref), key, transport=transport, clock=clock)
    assertion = known.assertion()
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }

    async with httpx.AsyncClient(transport=transport) as client:
        first = await client.post(TOKEN_URL, data=form)
        replayed = await client.post(TOKEN_URL, data=form)
        unknown = await client.post(TOKEN_URL, data=form | {
            "client_assertion": stranger.assertion()})  # fmt: skip

    assert first.status_code == 200 and first.json()["token_type"] == "bearer"
    assert replayed.status_code == 401 and "used before" in replayed.json()["error_description"]
    assert unknown.status_code == 401 and "unknown client" in unknown.json()["error_description"]


async def test_an_expired_assertion_is_refused(tmp_path: Path) -> None:
    keys, clock = key_pair(tmp_path), Clock()
    old_clock = Clock()
    old_clock.now -= 3600
    source = SmartTokenSource(
        endpoint(keys.private_ref),
        load_signing_key(keys.private_ref, "ES384"),
        transport=server({"stepdown-test": keys.public_pem}, clock),
        clock=old_clock,
    )

    with pytest.raises(PayerAuthRefused, match="401"):
        await source.token()


def test_a_missing_or_wrong_key_file_is_a_clear_refusal(tmp_path: Path) -> None:
    not_a_key = tmp_path / "note.pem"
    not_a_key.write_text("hello")

    with pytest.raises(PayerAuthRefused, match="signing key is unavailable"):
        load_signing_key(f"file:{tmp_path}/absent.pem", "RS384")
    with pytest.raises(PayerAuthRefused, match="not a PEM private key for ES384"):
        load_signing_key(f"file:{not_a_key}", "ES384")

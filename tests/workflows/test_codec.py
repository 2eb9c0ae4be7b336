"""The payload codec and the settings that feed it, without any server."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from google.protobuf import json_format
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ApplicationError

from api.codec import codec_cors_middleware, make_codec_router
from settings import DEV_PAYLOAD_KEY, Settings
from workflows.codec import (
    COMPRESSION,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    UndecryptablePayload,
    build_data_converter,
    converter_with,
)
from workflows.temporal import DATA_CONVERTER

OLD, NEW = os.urandom(32), os.urandom(32)


class Patient(BaseModel):
    name: str
    member_id: str


JANE = Patient(name="Jane Roe", member_id="MCD123456")


@pytest.fixture(autouse=True)
def no_key_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STEPDOWN_DEV", "STEPDOWN_PAYLOAD_KEYS", "STEPDOWN_PAYLOAD_ACTIVE_KEY"):
        monkeypatch.delenv(name, raising=False)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def test_a_payload_round_trips_and_its_bytes_hide_the_value():
    converter = converter_with(EncryptionCodec({"old": OLD}, "old"))
    [payload] = await converter.encode([JANE])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID] == b"old"
    raw = payload.SerializeToString()
    assert b"Jane Roe" not in raw and b"json/plain" not in raw
    assert await converter.decode([payload], [Patient]) == [JANE]


async def test_every_payload_gets_a_fresh_nonce():
    codec = EncryptionCodec({"old": OLD}, "old")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"same"')
    first, second = await codec.encode([plain, plain])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data
    assert await codec.decode([first, second]) == [plain, plain]


async def test_data_sealed_with_the_old_key_opens_after_the_active_key_changes():
    [sealed] = await converter_with(EncryptionCodec({"old": OLD}, "old")).encode([JANE])
    rotated = converter_with(EncryptionCodec({"old": OLD, "new": NEW}, "new"))
    [fresh] = await rotated.encode([JANE])
    assert fresh.metadata[KEY_ID] == b"new"
    assert await rotated.decode([sealed, fresh], [Patient, Patient]) == [JANE, JANE]


async def test_an_unknown_key_id_is_refused_by_name():
    [sealed] = await EncryptionCodec({"old": OLD}, "old").encode([Payload(data=b"x")])
    with pytest.raises(UndecryptablePayload, match="unknown key id 'old'; this process has new"):
        await EncryptionCodec({"new": NEW}, "new").decode([sealed])


async def test_an_altered_ciphertext_fails_authentication():
    codec = EncryptionCodec({"old": OLD}, "old")
    [sealed] = await codec.encode([Payload(data=b"Jane Roe")])
    flipped = bytes([sealed.data[-1] ^ 1])
    sealed.data = sealed.data[:-1] + flipped
    with pytest.raises(UndecryptablePayload, match="failed authentication"):
        await codec.decode([sealed])


async def test_a_key_id_pointing_at_another_key_fails_authentication():
    [sealed] = await EncryptionCodec({"old": OLD}, "old").encode([Payload(data=b"x")])
    with pytest.raises(UndecryptablePayload, match="failed authentication"):
        await EncryptionCodec({"old": NEW}, "old").decode([sealed])


async def test_an_unencrypted_payload_passes_through_decode():
    [plain] = DATA_CONVERTER.payload_converter.to_payloads([JANE])  # as recorded before
    decoded = await EncryptionCodec({"old": OLD}, "old").decode([plain])
    assert decoded == [plain]
    assert await DATA_CONVERTER.decode(decoded, [Patient]) == [JANE]


async def test_failure_messages_are_encrypted_with_the_payloads():
    converter = converter_with(EncryptionCodec({"old": OLD}, "old"))
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    failure = Failure()
    await converter.encode_failure(ApplicationError("Jane Roe was refused"), failure)
    assert failure.message == "Encoded failure"
    assert b"Jane Roe" not in failure.SerializeToString()
    back = await converter.decode_failure(failure)
    assert str(back) == "Jane Roe was refused"


def test_a_codec_refuses_keys_that_are_not_aes_256():
    with pytest.raises(PayloadKeyError, match="16 bytes"):
        EncryptionCodec({"short": os.urandom(16)}, "short")
    with pytest.raises(PayloadKeyError, match="active payload key 'gone'"):
        EncryptionCodec({"old": OLD}, "gone")


def test_settings_refuse_a_key_that_is_not_32_bytes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", f'{{"k": "{b64(os.urandom(16))}"}}')
    with pytest.raises(ValidationError, match="must decode to 32 bytes, not 16"):
        Settings()
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", '{"k": "not base64!"}')
    with pytest.raises(ValidationError, match="not valid base64"):
        Settings()


def test_a_key_error_never_echoes_the_key(monkeypatch: pytest.MonkeyPatch):
    short = b64(os.urandom(20))
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", f'{{"k": "{short}"}}')
    with pytest.raises(ValidationError) as err:
        Settings()
    assert short not in str(err.value)


def test_dev_mode_uses_the_dev_key_and_production_refuses_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_DEV", "1")
    dev = Settings()
    assert dev.payload_active_key == "dev-1"
    assert build_data_converter(dev).payload_codec is not None
    monkeypatch.setenv("STEPDOWN_DEV", "0")
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", f'{{"mine": "{DEV_PAYLOAD_KEY}"}}')
    with pytest.raises(ValidationError, match="dev payload key is configured outside dev"):
        Settings()


def test_outside_dev_a_missing_key_fails_when_the_converter_is_built(
    monkeypatch: pytest.MonkeyPatch,
):
    settings = Settings()
    with pytest.raises(PayloadKeyError, match="STEPDOWN_PAYLOAD_KEYS is not set"):
        build_data_converter(settings)


def test_several_keys_need_an_active_one_that_exists(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", f'{{"a": "{b64(OLD)}", "b": "{b64(NEW)}"}}')
    with pytest.raises(PayloadKeyError, match="no STEPDOWN_PAYLOAD_ACTIVE_KEY"):
        build_data_converter(Settings())
    monkeypatch.setenv("STEPDOWN_PAYLOAD_ACTIVE_KEY", "c")
    with pytest.raises(ValidationError, match="'c' is not a key id"):
        Settings()
    monkeypatch.setenv("STEPDOWN_PAYLOAD_ACTIVE_KEY", "b")
    codec = build_data_converter(Settings()).payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.active_key_id == "b"


def test_a_single_key_is_the_active_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STEPDOWN_PAYLOAD_KEYS", f'{{"only": "{b64(OLD)}"}}')
    assert Settings().payload_active_key == "only"


# -- the codec endpoints for the Temporal UI -----------------------------------------------

UI = "http://127.0.0.1:8233"
TOKENS = {"t-ops": "ops", "t-admin": "admin", "t-billing": "billing"}


def require_roles(*roles: str) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        role = TOKENS.get(token)
        if role is None:
            raise HTTPException(401)
        if role not in roles:
            raise HTTPException(403)

    return check


@pytest.fixture
def http() -> TestClient:
    app = FastAPI()
    app.include_router(make_codec_router(require_roles, EncryptionCodec({"old": OLD}, "old")))
    app.add_api_route("/elsewhere", lambda: {"ok": True}, methods=["POST"])
    codec_cors_middleware(app, UI)
    return TestClient(app)


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def post(http: TestClient, path: str, body: Any, token: str = "t-ops") -> Any:
    return http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_ops_and_admin_decode_over_http_what_was_encoded_over_http(http: TestClient):
    plain = as_json(DATA_CONVERTER.payload_converter.to_payloads([JANE]))
    sealed = post(http, "/codec/encode", plain)
    assert sealed.status_code == 200
    assert b"Jane Roe" not in base64.b64decode(sealed.json()["payloads"][0]["data"])
    for token in ("t-ops", "t-admin"):
        opened = post(http, "/codec/decode", sealed.json(), token)
        assert (opened.status_code, opened.json()) == (200, plain)


def test_other_roles_and_strangers_are_refused_the_codec(http: TestClient):
    for path in ("/codec/encode", "/codec/decode"):
        assert post(http, path, {"payloads": []}, "t-billing").status_code == 403
        assert http.post(path, json={"payloads": []}).status_code == 401
    assert post(http, "/codec/decode", {"payloads": []}).json() == {"payloads": []}


def test_a_body_that_is_not_payloads_json_is_a_400(http: TestClient):
    answer = post(http, "/codec/decode", {"payloads": [{"data": "not base64!"}]})
    assert answer.status_code == 400 and "protobuf JSON" in answer.json()["detail"]


def test_an_altered_or_foreign_payload_is_a_400_that_says_why(http: TestClient):
    sealed = post(http, "/codec/encode", as_json([Payload(data=b"x")])).json()
    data = bytearray(base64.b64decode(sealed["payloads"][0]["data"]))
    data[-1] ^= 1
    sealed["payloads"][0]["data"] = base64.b64encode(bytes(data)).decode()
    answer = post(http, "/codec/decode", sealed)
    assert answer.status_code == 400 and "failed authentication" in answer.json()["detail"]
    sealed["payloads"][0]["metadata"][KEY_ID] = base64.b64encode(b"gone").decode()
    assert "unknown key id 'gone'" in post(http, "/codec/decode", sealed).json()["detail"]


def preflight(http: TestClient, path: str, origin: str) -> Any:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )


def test_the_temporal_ui_may_call_the_codec_from_its_origin(http: TestClient):
    allowed = preflight(http, "/codec/decode", UI)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in allowed.headers["access-control-allow-headers"]
    answer = http.post(
        "/codec/decode",
        json={"payloads": []},
        headers={"Origin": UI, "Authorization": "Bearer t-ops", "X-Namespace": "default"},
    )
    assert answer.headers["access-control-allow-origin"] == UI


def test_no_other_origin_and_no_other_route_gets_cors(http: TestClient):
    foreign = preflight(http, "/codec/decode", "http://evil.example")
    assert "access-control-allow-origin" not in foreign.headers
    elsewhere = preflight(http, "/elsewhere", UI)
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_a_large_payload_is_compressed_before_it_is_sealed_and_opens_the_same():
    codec = EncryptionCodec({"old": OLD}, "old")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"note": "%s"}' % (b"x" * 5000))
    small = Payload(metadata={"encoding": b"json/plain"}, data=b'"short"')

    big_sealed, small_sealed = await codec.encode([plain, small])

    assert big_sealed.metadata[COMPRESSION] == b"zlib"
    assert len(big_sealed.data) < len(plain.data) // 10
    assert COMPRESSION not in small_sealed.metadata
    assert await codec.decode([big_sealed, small_sealed]) == [plain, small]


async def test_a_flipped_compression_mark_fails_authentication():
    codec = EncryptionCodec({"old": OLD}, "old")
    [big, small] = await codec.encode([Payload(data=b"y" * 4096), Payload(data=b"Jane Roe")])
    del big.metadata[COMPRESSION]
    small.metadata[COMPRESSION] = b"zlib"
    for altered in (big, small):
        with pytest.raises(UndecryptablePayload, match="failed authentication"):
            await codec.decode([altered])


async def test_a_payload_sealed_before_compression_still_opens():
    # Sealed as the codec did before it compressed: whole payload, no associated data.
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"z" * 4096)
    nonce = os.urandom(12)
    sealed = AESGCM(OLD).encrypt(nonce, plain.SerializeToString(), None)
    old = Payload(metadata={"encoding": ENCODING, KEY_ID: b"old"}, data=nonce + sealed)

    assert await EncryptionCodec({"old": OLD}, "old").decode([old]) == [plain]

"""PHI encryption for all that reaches Temporal: an AES-256-GCM payload codec with key rotation."""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for; fresh for every payload
KEY_BYTES = 32
# Payloads this large are compressed (zlib) before they are sealed: the episode's snapshot
# carried across continue-as-new and projection batches are JSON that shrinks several times,
# and they are most of a run's history bytes. Smaller ones are sealed as they are.
COMPRESSION = "compression"
ZLIB = b"zlib"
COMPRESS_FROM_BYTES = 1024


class PayloadKeyError(Exception):
    """The payload keys are missing or inconsistent; the process must not start."""


class UndecryptablePayload(Exception):
    """An encrypted payload that no configured key opens: unknown key id or altered bytes."""


class EncryptionCodec(PayloadCodec):
    """Encrypts whole payloads (data and metadata) with the active key; decrypts with any key.

    Decode leaves payloads without the encrypted encoding alone, so histories recorded
    before encryption was switched on still replay and decode; payloads sealed without
    compression (before it, or small) open as before. A worker of an earlier release cannot
    open a compressed payload: roll every worker and API replica forward before episodes
    they may pick up continue as new (its workflow task fails and is retried meanwhile).
    """

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise PayloadKeyError(f"active payload key {active_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key {key_id!r} is {len(key)} bytes, not 32")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        plain = payload.SerializeToString()
        metadata = {"encoding": ENCODING, KEY_ID: self.active_key_id.encode()}
        # The compression mark is authenticated (associated data): flipping it fails to open.
        mark = None
        if len(plain) >= COMPRESS_FROM_BYTES:
            plain, mark = zlib.compress(plain, 6), ZLIB
            metadata[COMPRESSION] = ZLIB
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, plain, mark)
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UndecryptablePayload(
                f"payload encrypted with unknown key id {key_id!r}; "
                f"this process has {', '.join(self.key_ids)}"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        mark = payload.metadata.get(COMPRESSION)
        try:
            plain = cipher.decrypt(nonce, sealed, mark)
        except InvalidTag:
            raise UndecryptablePayload(
                f"payload under key id {key_id!r} failed authentication: "
                "its bytes were altered or it was sealed with another key of that id"
            ) from None
        if mark is None:
            return Payload.FromString(plain)
        if mark != ZLIB:
            raise UndecryptablePayload(f"payload compressed with unknown {mark!r}")
        return Payload.FromString(zlib.decompress(plain))


def converter_with(codec: PayloadCodec) -> DataConverter:
    """The pydantic converter with `codec`; failure messages and stack traces are encoded too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def build_codec(settings: Settings) -> EncryptionCodec:
    """The codec of `settings`' keys; raises PayloadKeyError when none is usable."""
    keys = settings.payload_keyring()
    if not keys:
        raise PayloadKeyError(
            "STEPDOWN_PAYLOAD_KEYS is not set: outside dev mode PHI must be encrypted with "
            'a key of your own, e.g. {"2026-01": "<base64 of 32 random bytes>"}'
        )
    if settings.payload_active_key is None:
        raise PayloadKeyError(
            "several payload keys and no STEPDOWN_PAYLOAD_ACTIVE_KEY to encrypt new payloads with"
        )
    return EncryptionCodec(keys, settings.payload_active_key)


def build_data_converter(settings: Settings) -> DataConverter:
    """The converter every production client, worker and replayer must use."""
    return converter_with(build_codec(settings))

"""PHI at rest in the SQL store: fields, bodies and files sealed with the payload keyring.

AES-256-GCM under the same keys (and key ids, and rotation) as the Temporal payload codec
(workflows/codec.py): a sealed value names the key that sealed it, so old rows stay readable
while new ones use the active key, and `stepdown db reencrypt` moves old rows forward.
Searchable fields also get a keyed blind index: HMAC-SHA256 under a key derived from each
payload key, so equal values match without the database ever seeing them.

The event store is append-only (no UPDATE, ever), so event data is sealed by envelope
encryption instead: each episode has its own random data key (`DataKey`), kept in
`episode_data_keys` wrapped (sealed) by the payload keyring with a key id. A rotation
re-wraps those key rows only; the event rows are never rewritten. Deleting an episode's key
row would make its sealed PHI unreadable for good (crypto-shredding) -- not offered as a
command: the event store's retention and legal holds govern removal (store/event_store.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "$sealed"
VERSION = "v1"
# A value sealed with its episode's data key (envelope encryption): no key id of its own.
ENVELOPE = "e1"
# A sealed text column (an X12 file, a submitted payload) starts with this; no payload does.
TEXT_MAGIC = "$sdphi1$"
DATA_KEY_BYTES = 32
# A sealed inbox body starts with these bytes; no payer format (JSON, X12 ISA) does.
BODY_MAGIC = b"\x00sdphi1\x00"
NONCE_BYTES = 12
# Event data keys that hold PHI (domain.events.EpisodeOpened.patient: name, birth date,
# member id and the patient's own id).
PHI_KEYS = frozenset({"patient"})
# Fields an episode can be found by, with how a value is normalised before it is indexed.
SEARCHABLE = ("member_id", "patient_name")


class UnreadablePhi(Exception):
    """A sealed value no configured key opens: unknown key id, or altered bytes."""


class PhiCipher:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active payload key {active_key_id!r} is not among the keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        # One index key per payload key, so an index is never the payload key itself.
        self._index_keys = {
            key_id: hmac.new(key, b"stepdown blind index v1", hashlib.sha256).digest()
            for key_id, key in keys.items()
        }
        self.active_key_id = active_key_id

    # -- JSON values (event data) -------------------------------------------------------
    def seal(self, value: Any, purpose: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, plain, purpose.encode())
        data = base64.b64encode(nonce + sealed).decode()
        return {SEALED: VERSION, "kid": self.active_key_id, "data": data}

    def open(self, value: Any, purpose: str) -> Any:
        if not is_sealed(value):
            return value  # written before encryption was switched on
        raw = base64.b64decode(value["data"])
        plain = self._decrypt(value["kid"], raw, purpose)
        return json.loads(plain)

    # -- bytes (inbox bodies) -----------------------------------------------------------
    def seal_bytes(self, body: bytes, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        kid = self.active_key_id.encode()
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, body, purpose.encode())
        return BODY_MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def open_bytes(self, blob: bytes, purpose: str) -> bytes:
        if not blob.startswith(BODY_MAGIC):
            return blob
        rest = blob[len(BODY_MAGIC) :]
        size = rest[0]
        kid, raw = rest[1 : 1 + size].decode(errors="replace"), rest[1 + size :]
        return self._decrypt(kid, raw, purpose)

    def _decrypt(self, kid: str, raw: bytes, purpose: str) -> bytes:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnreadablePhi(f"sealed with unknown key id {kid!r}")
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
        except InvalidTag:
            raise UnreadablePhi(f"value under key id {kid!r} failed authentication") from None

    # -- text (X12 files, submitted payloads) -------------------------------------------
    def seal_text(self, text: str, purpose: str) -> str:
        blob = self.seal_bytes(text.encode(), purpose)
        return TEXT_MAGIC + base64.b64encode(blob[len(BODY_MAGIC) :]).decode()

    def open_text(self, text: str, purpose: str) -> str:
        if not text.startswith(TEXT_MAGIC):
            return text  # written before the column was sealed
        blob = BODY_MAGIC + base64.b64decode(text[len(TEXT_MAGIC) :])
        return self.open_bytes(blob, purpose).decode()

    # -- episode data keys (envelope encryption of the event store) ----------------------
    def wrap_key(self, episode_id: str, key: bytes) -> bytes:
        return self.seal_bytes(key, f"episode_key.{episode_id}")

    def unwrap_key(self, episode_id: str, wrapped: bytes) -> DataKey:
        return DataKey(episode_id, self.open_bytes(wrapped, f"episode_key.{episode_id}"))

    def stale(self, value: Any) -> bool:
        """True when `value` is plain, or sealed with a key that is no longer the active one."""
        if isinstance(value, bytes):
            return not value.startswith(BODY_MAGIC) or _body_kid(value) != self.active_key_id
        if isinstance(value, str):
            if not value.startswith(TEXT_MAGIC):
                return True
            return _body_kid(BODY_MAGIC + base64.b64decode(value[len(TEXT_MAGIC) :])) != (
                self.active_key_id
            )
        return not is_sealed(value) or value["kid"] != self.active_key_id

    # -- blind indexes ------------------------------------------------------------------
    def blind_index(self, field: str, value: str, key_id: str | None = None) -> str:
        key = self._index_keys[key_id or self.active_key_id]
        message = f"{field}\x00{normalise(field, value)}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def blind_indexes(self, field: str, value: str) -> list[str]:
        """The value's index under every key: found whether or not it was re-indexed yet."""
        return [self.blind_index(field, value, key_id) for key_id in sorted(self._index_keys)]


class DataKey:
    """One episode's data key: seals the PHI of that episode's events, bound to its id."""

    def __init__(self, episode_id: str, key: bytes) -> None:
        if len(key) != DATA_KEY_BYTES:
            raise UnreadablePhi(f"the data key of {episode_id} is not {DATA_KEY_BYTES} bytes")
        self.episode_id = episode_id
        self._cipher = AESGCM(key)

    @classmethod
    def generate(cls, episode_id: str) -> tuple[DataKey, bytes]:
        key = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
        return cls(episode_id, key), key

    def _aad(self, purpose: str) -> bytes:
        return f"{purpose}\x00{self.episode_id}".encode()

    def seal(self, value: Any, purpose: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._cipher.encrypt(nonce, plain, self._aad(purpose))
        return {SEALED: ENVELOPE, "data": base64.b64encode(nonce + sealed).decode()}

    def open(self, value: dict[str, str], purpose: str) -> Any:
        raw = base64.b64decode(value["data"])
        try:
            plain = self._cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(purpose))
        except InvalidTag:
            raise UnreadablePhi(
                f"event data of {self.episode_id} failed authentication under its data key"
            ) from None
        return json.loads(plain)


def is_sealed(value: Any) -> bool:
    """Sealed directly with a keyring key (inbox-era event data, outbox billing)."""
    return isinstance(value, dict) and value.get(SEALED) == VERSION


def is_enveloped(value: Any) -> bool:
    """Sealed with an episode's data key (the event store)."""
    return isinstance(value, dict) and value.get(SEALED) == ENVELOPE


def needs_key(data: dict[str, Any]) -> bool:
    """True when opening `data` takes its episode's data key."""
    return any(is_enveloped(value) for value in data.values())


def _body_kid(blob: bytes) -> str:
    rest = blob[len(BODY_MAGIC) :]
    return rest[1 : 1 + rest[0]].decode(errors="replace")


def normalise(field: str, value: str) -> str:
    """Member ids compare without case or spaces; names without case or extra whitespace."""
    if field == "member_id":
        return "".join(value.split()).upper()
    return " ".join(value.split()).casefold()


def has_phi(data: dict[str, Any]) -> bool:
    return any(key in PHI_KEYS for key in data)


def seal_event_data(key: DataKey | None, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its PHI sealed under the episode's data key; plain without one."""
    if key is None:
        return data
    return {
        name: key.seal(value, f"event.{name}")
        if name in PHI_KEYS and not (is_sealed(value) or is_enveloped(value))
        else value
        for name, value in data.items()
    }


def open_event_data(
    cipher: PhiCipher | None, data: dict[str, Any], key: DataKey | None = None
) -> dict[str, Any]:
    """`data` in the clear: enveloped values with the episode's data `key`, values sealed
    before envelope encryption (revision 0150 converts them) with the keyring."""
    if not any(is_sealed(value) or is_enveloped(value) for value in data.values()):
        return data
    if cipher is None:
        raise UnreadablePhi("the store holds sealed PHI but no payload key is configured")
    opened: dict[str, Any] = {}
    for name, value in data.items():
        if is_enveloped(value):
            if key is None:
                raise UnreadablePhi("event data sealed with a data key that is not available")
            opened[name] = key.open(value, f"event.{name}")
        else:
            opened[name] = cipher.open(value, f"event.{name}")
    return opened


def searchable_values(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """The searchable fields of an event's (plain) data: the patient's member id and name."""
    patient = data.get("patient")
    if isinstance(patient, dict):
        if patient.get("member_id"):
            yield "member_id", str(patient["member_id"])
        if patient.get("name"):
            yield "patient_name", str(patient["name"])


# Without payload keys (tests, tools) the index is still a digest, though not a secret one.
UNKEYED_INDEX = b"stepdown unkeyed blind index"


def index_digest(cipher: PhiCipher | None, field: str, value: str) -> str:
    """The digest stored for `value`: under the active key's index key."""
    if cipher is not None:
        return cipher.blind_index(field, value)
    message = f"{field}\x00{normalise(field, value)}".encode()
    return hmac.new(UNKEYED_INDEX, message, hashlib.sha256).hexdigest()


def search_digests(cipher: PhiCipher | None, field: str, value: str) -> list[str]:
    """Every digest `value` may be stored under (one per key, mid-rotation included)."""
    if cipher is not None:
        return cipher.blind_indexes(field, value)
    return [index_digest(None, field, value)]


SEARCH_FIELD = "search"


def search_token(cipher: PhiCipher | None, token: str) -> str:
    """The stored form of a search key: its keyed digest under the active key."""
    return index_digest(cipher, SEARCH_FIELD, token)


def search_tokens(cipher: PhiCipher | None, token: str) -> list[str]:
    """Every stored form `token` may have (one per key, mid-rotation included)."""
    return search_digests(cipher, SEARCH_FIELD, token)


def cipher_from_settings(settings: Any) -> PhiCipher | None:
    """The cipher of `settings`' payload keys; None when no key is configured."""
    from workflows.codec import PayloadKeyError

    try:
        keys = settings.payload_keyring()
    except PayloadKeyError:
        return None
    if not keys or settings.payload_active_key is None:
        return None
    return PhiCipher(keys, settings.payload_active_key)

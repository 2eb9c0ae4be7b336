"""Stepdown-Signature: HMAC-SHA256 signing and verification of payer webhook bodies."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """The request is not provably from the payer; `reason` is for the security log only."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The full header value: `t=<unix>,v1=<hex hmac-sha256 of "<t>.<raw body>">`."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    now: int,
    tolerance: int = 300,
) -> str:
    """The fingerprint of the signed message when some v1 matches some secret in the window.

    The fingerprint (SHA-256 of `<t>.<body>`) names the message whichever secret or v1 value
    proved it, so a captured message re-sent with its v1 values trimmed is still recognised.
    """
    timestamp, candidates = _parse(header)
    if now - timestamp > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s old")
    if timestamp - now > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s in the future")
    # Empty secrets are misconfiguration; an empty HMAC key would let anyone sign.
    keys = [secret for secret in secrets if secret]
    if not keys:
        raise SignatureError("no webhook secret is configured for this payer")
    expected = [_digest(key, body, timestamp).encode("ascii") for key in keys]
    # Every pair is compared, so timing does not reveal which secret or candidate matched.
    matches = [
        hmac.compare_digest(want, candidate.lower().encode("ascii"))
        for want in expected
        for candidate in candidates
    ]
    if not any(matches):
        raise SignatureError("no v1 signature matches the payer's secrets")
    return fingerprint(body, timestamp)


def fingerprint(body: bytes, timestamp: int) -> str:
    """What identifies one signed message, for replay detection (not secret)."""
    return hashlib.sha256(_message(body, timestamp)).hexdigest()


def _parse(header: str | None) -> tuple[int, list[str]]:
    if header is None or not header.strip():
        raise SignatureError("missing Stepdown-Signature header")
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed Stepdown-Signature header: {part.strip()[:40]!r}")
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and value.isascii():
            candidates.append(value)
    if len(timestamps) != 1 or not TIMESTAMP.fullmatch(timestamps[0]):
        raise SignatureError("malformed Stepdown-Signature header: needs exactly one t=<unix>")
    if not candidates:
        raise SignatureError("malformed Stepdown-Signature header: no v1 signature")
    return int(timestamps[0]), candidates


def _message(body: bytes, timestamp: int) -> bytes:
    return str(timestamp).encode("ascii") + b"." + body


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), _message(body, timestamp), hashlib.sha256).hexdigest()

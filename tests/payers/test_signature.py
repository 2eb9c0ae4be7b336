"""Stepdown-Signature headers: signing, the time window, key rotation and malformed headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payers.signature import SignatureError, sign, verify

SECRET = "dev-webhook-secret"
BODY = b'{"trace_number":"SD-1","action":"A1"}'
NOW = 1_795_000_000
# Computed independently: printf '1795000000.<body>' | openssl dgst -sha256 -hmac <secret>
KNOWN_DIGEST = "dd5611aab28ec7db0cba30dd4571e4ae2a07c2bd9e42269622e52e9424c41ed7"


def test_signature_header_is_timestamp_and_hex_hmac_of_timestamp_dot_body() -> None:
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={KNOWN_DIGEST}"


def test_fresh_signature_with_the_payer_secret_is_accepted() -> None:
    verify(sign(SECRET, BODY, NOW), BODY, [SECRET], now=NOW + 5)


@pytest.mark.parametrize("age", [-300, 0, 300])
def test_timestamps_within_the_tolerance_are_accepted(age: int) -> None:
    verify(sign(SECRET, BODY, NOW - age), BODY, [SECRET], now=NOW)


def test_timestamp_older_than_the_tolerance_is_refused() -> None:
    with pytest.raises(SignatureError, match="more than 300 s old"):
        verify(sign(SECRET, BODY, NOW - 301), BODY, [SECRET], now=NOW)


def test_timestamp_too_far_in_the_future_is_refused() -> None:
    with pytest.raises(SignatureError, match="more than 300 s in the future"):
        verify(sign(SECRET, BODY, NOW + 301), BODY, [SECRET], now=NOW)


def test_custom_tolerance_is_honoured() -> None:
    with pytest.raises(SignatureError, match="more than 60 s old"):
        verify(sign(SECRET, BODY, NOW - 61), BODY, [SECRET], now=NOW, tolerance=60)


def test_changed_body_is_refused() -> None:
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(sign(SECRET, BODY, NOW), BODY + b" ", [SECRET], now=NOW)


def test_signature_made_with_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(sign("someone-else", BODY, NOW), BODY, [SECRET], now=NOW)


def test_moving_the_signature_to_another_timestamp_is_refused() -> None:
    digest = sign(SECRET, BODY, NOW).split("v1=")[1]
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(f"t={NOW + 1},v1={digest}", BODY, [SECRET], now=NOW)


def test_during_rotation_either_v1_may_match_either_configured_secret() -> None:
    old, new = sign("old-secret", BODY, NOW), sign("new-secret", BODY, NOW)
    header = f"{old},v1={new.split('v1=')[1]}"
    verify(header, BODY, ["new-secret"], now=NOW)
    verify(header, BODY, ["old-secret"], now=NOW)
    verify(sign("old-secret", BODY, NOW), BODY, ["new-secret", "old-secret"], now=NOW)


def test_spaces_unknown_schemes_and_upper_case_hex_are_tolerated() -> None:
    header = f"t={NOW}, v0=legacy, v1={KNOWN_DIGEST.upper()}"
    verify(header, BODY, [SECRET], now=NOW)


def test_empty_secrets_never_verify_anything() -> None:
    with pytest.raises(SignatureError, match="no webhook secret is configured"):
        verify(sign("", BODY, NOW), BODY, ["", ""], now=NOW)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "missing Stepdown-Signature header"),
        ("  ", "missing Stepdown-Signature header"),
        (f"t={NOW};v1={KNOWN_DIGEST}", "malformed .* needs exactly one t=<unix>"),
        (f"{KNOWN_DIGEST}", "malformed Stepdown-Signature header: 'dd56"),
        (f"v1={KNOWN_DIGEST}", "needs exactly one t=<unix>"),
        (f"t={NOW},t={NOW},v1={KNOWN_DIGEST}", "needs exactly one t=<unix>"),
        (f"t=17950e5,v1={KNOWN_DIGEST}", "needs exactly one t=<unix>"),
        (f"t=-{NOW},v1={KNOWN_DIGEST}", "needs exactly one t=<unix>"),
        ("t=١٧٩٥٠٠٠٠٠٠,v1=x", "needs exactly one t=<unix>"),
        (f"t={NOW}", "no v1 signature"),
        (f"t={NOW},v1=é", "no v1 signature"),
    ],
)
def test_malformed_header_is_refused_with_the_reason(header: str | None, detail: str) -> None:
    with pytest.raises(SignatureError, match=detail):
        verify(header, BODY, [SECRET], now=NOW)


@given(st.text(min_size=1), st.binary(), st.integers(0, 10**10))
def test_any_signed_body_verifies_with_its_secret(secret: str, body: bytes, t: int) -> None:
    verify(sign(secret, body, t), body, [secret], now=t)


@given(st.text(max_size=200))
def test_arbitrary_headers_raise_only_signature_error(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(header, BODY, [SECRET], now=NOW)


def test_the_fingerprint_names_the_message_whichever_secret_or_extra_v1_proved_it() -> None:
    header = sign("old-secret", BODY, NOW)
    padded = f"{header},v1={'0' * 64}"
    other_secret = sign("new-secret", BODY, NOW)
    secrets = ["old-secret", "new-secret"]

    seen = {verify(h, BODY, secrets, now=NOW) for h in (header, padded, other_secret)}
    later = verify(sign("old-secret", BODY, NOW + 1), BODY, secrets, now=NOW)
    changed = verify(sign("old-secret", BODY + b" ", NOW), BODY + b" ", secrets, now=NOW)

    assert len(seen) == 1
    assert later not in seen and changed not in seen

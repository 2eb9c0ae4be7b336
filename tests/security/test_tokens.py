"""API tokens are kept as SHA-256 hashes, compared in constant time, plain only in dev mode."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.auth import role_of
from settings import DEV_TOKENS, Settings, hash_token
from tests.support.api_client import Api

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-long-random-token-for-ops"


def production(tokens: dict[str, str]) -> Settings:
    return Settings.model_validate({"STEPDOWN_DEV": False, "STEPDOWN_API_TOKENS": tokens})


def test_a_token_hash_is_the_hex_sha256_behind_a_prefix() -> None:
    assert hash_token(TOKEN) == "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()


@pytest.mark.parametrize("given", [["hash-token", TOKEN], ["hash-token"]])
def test_python_m_settings_prints_the_hash_from_an_argument_or_stdin(given: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "settings", *given],
        input=f"{TOKEN}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )

    assert done.stdout.strip() == hash_token(TOKEN)


def test_outside_dev_mode_hashed_tokens_are_accepted() -> None:
    settings = production({hash_token(TOKEN): "ops"})

    assert role_of(settings.api_tokens, TOKEN) == "ops"


def test_outside_dev_mode_a_plain_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        production({hash_token("other"): "intake", TOKEN: "ops"})

    message = str(refused.value)
    assert "1 plain token(s) outside dev mode" in message
    assert "python -m settings hash-token" in message
    assert TOKEN not in message


@pytest.mark.parametrize("entry", ["sha256:abc", "SHA256:" + "a" * 64, "sha256:" + "G" * 64])
def test_a_malformed_hash_counts_as_a_plain_token(entry: str) -> None:
    with pytest.raises(ValidationError, match="plain token"):
        production({entry: "ops"})


def test_the_hash_of_a_dev_token_is_refused_outside_dev_mode() -> None:
    with pytest.raises(ValidationError, match="dev tokens"):
        production({hash_token("dev-ops"): "ops"})


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown roles \\['root'\\]"):
        production({hash_token(TOKEN): "root"})


def test_dev_mode_keeps_plain_dev_tokens_and_accepts_hashes_beside_them() -> None:
    dev = Settings.model_validate(
        {
            "STEPDOWN_DEV": True,
            "STEPDOWN_API_TOKENS": {"dev-ops": "ops", hash_token(TOKEN): "admin"},
        }
    )

    assert role_of(dev.api_tokens, "dev-ops") == "ops"
    assert role_of(dev.api_tokens, TOKEN) == "admin"
    assert role_of(Settings.model_validate({"STEPDOWN_DEV": True}).api_tokens, "dev-billing") == (
        "billing"
    )
    assert set(DEV_TOKENS) == set(Settings.model_validate({"STEPDOWN_DEV": True}).api_tokens)


def test_the_hash_itself_is_not_a_credential() -> None:
    tokens = {hash_token(TOKEN): "ops"}

    assert role_of(tokens, hash_token(TOKEN)) is None
    assert role_of(tokens, TOKEN.upper()) is None


@pytest.mark.parametrize("presented", [f"t-{n}" for n in range(5)] + ["nobody"])
def test_every_configured_hash_is_compared_whatever_matches(
    presented: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = {hash_token(f"t-{n}"): "ops" for n in range(5)}
    compared: list[tuple[int, int]] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    role = role_of(tokens, presented)

    assert role == (None if presented == "nobody" else "ops")
    # No early exit, and equal-length digests: neither time nor count says which matched.
    assert compared == [(71, 71)] * len(tokens)


async def test_the_api_takes_the_token_whose_hash_is_configured_and_not_the_hash(
    api: Api,
) -> None:
    assert all(key.startswith("sha256:") for key in api.stack.settings.api_tokens)
    plain = await api.call("GET", "/worklist", headers={"Authorization": "Bearer t-ops"})
    hashed = {"Authorization": f"Bearer {hash_token('t-ops')}"}

    assert plain.status_code == 200
    assert (await api.call("GET", "/worklist", headers=hashed)).status_code == 401

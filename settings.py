"""One validated settings object for every process; refuses dev secrets outside dev mode."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_TOKENS = {
    "dev-intake": "intake",
    "dev-billing": "billing",
    "dev-ops": "ops",
    "dev-admin": "admin",
}
DEV_WEBHOOK_SECRET = "dev-webhook-secret"
ROLES = ("intake", "billing", "ops", "admin")
# How STEPDOWN_API_TOKENS stores a token outside dev mode: the SHA-256 of it, never the token.
TOKEN_HASH_PREFIX = "sha256:"
TOKEN_HASH = re.compile(r"sha256:[0-9a-f]{64}")
DATA_DIR = Path(".stepdown")
SIM_ACTIONS = ("A1", "A2", "A3", "A4", "A6", "none")
SIM_FORMATS = ("json", "fhir", "x12")
DEFAULT_SIM_MIX = {"A1": 0.55, "A2": 0.1, "A3": 0.15, "A4": 0.1, "A6": 0.05, "none": 0.05}
DEFAULT_SIM_FORMATS = {"json": 0.5, "fhir": 0.25, "x12": 0.25}
# The payload-encryption key of dev mode and the tests. It is public on purpose (its bytes
# spell b"stepdown-dev-payload-key-32bytes"), so dev histories are encrypted exactly like
# production ones yet anyone can read them; outside dev mode it is refused.
DEV_PAYLOAD_KEY_ID = "dev-1"
DEV_PAYLOAD_KEY = "c3RlcGRvd24tZGV2LXBheWxvYWQta2V5LTMyYnl0ZXM="
PAYLOAD_KEY_BYTES = 32


def decode_payload_key(text: str) -> bytes:
    """A payload key from its base64 text; AES-256 needs exactly 32 bytes."""
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("the payload key is not valid base64") from None
    if len(key) != PAYLOAD_KEY_BYTES:
        raise ValueError(
            f"the payload key must decode to {PAYLOAD_KEY_BYTES} bytes, not {len(key)}"
        )
    return key


def hash_token(token: str) -> str:
    """The form STEPDOWN_API_TOKENS keeps a token in: `sha256:<hex of SHA-256(token)>`."""
    return TOKEN_HASH_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def _token_problems(tokens: dict[str, str], dev_mode: bool) -> list[str]:
    """What is wrong with STEPDOWN_API_TOKENS, without ever quoting a token."""
    problems = []
    unknown = sorted({role for role in tokens.values() if role not in ROLES})
    if unknown:
        problems.append(f"unknown roles {unknown}; use some of {list(ROLES)}")
    plain = [known for known in tokens if not TOKEN_HASH.fullmatch(known)]
    if plain and not dev_mode:
        problems.append(
            f"{len(plain)} plain token(s) outside dev mode; store each token as "
            '"sha256:<hex of its SHA-256>" (`python -m settings hash-token` prints it)'
        )
    return problems


class Settings(BaseSettings):
    # Errors never echo input: a bad key or token would otherwise end up in startup logs.
    model_config = SettingsConfigDict(
        env_prefix="", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    dev_mode: bool = Field(default=False, alias="STEPDOWN_DEV")
    database_url: str = Field(default=f"sqlite:///{DATA_DIR}/stepdown.db", alias="DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default="stepdown-episodes", alias="STEPDOWN_TASK_QUEUE")
    # token hash -> role; JSON in the environment, e.g. {"sha256:<hex>": "ops"}; see
    # hash_token(). Plain tokens as keys are accepted only in dev mode.
    api_tokens: dict[str, str] = Field(default_factory=dict, alias="STEPDOWN_API_TOKENS")
    # payer id -> list of secrets (several during a rotation); "*" applies to every payer.
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=dict, alias="STEPDOWN_WEBHOOK_SECRETS"
    )
    webhook_tolerance_seconds: int = Field(default=300, alias="STEPDOWN_WEBHOOK_TOLERANCE")
    # How often the API's redelivery loop hands queued webhook deliveries to the workflows.
    redelivery_interval_seconds: float = Field(
        default=5.0, gt=0, alias="STEPDOWN_REDELIVERY_INTERVAL"
    )
    # How long the API waits on Temporal for one call before answering 503 (webhooks: queued).
    temporal_timeout_seconds: float = Field(default=20.0, gt=0, alias="STEPDOWN_TEMPORAL_TIMEOUT")
    continue_as_new_after_events: int = Field(default=500, alias="STEPDOWN_CAN_AFTER_EVENTS")
    continue_as_new_after_history_events: int = Field(
        default=200, ge=50, alias="STEPDOWN_CAN_AFTER_HISTORY_EVENTS"
    )
    api_host: str = Field(default="127.0.0.1", alias="STEPDOWN_API_HOST")
    api_port: int = Field(default=8000, alias="STEPDOWN_API_PORT")
    temporal_ui_port: int = Field(default=8233, alias="STEPDOWN_TEMPORAL_UI_PORT")
    # The Temporal UI's origin, allowed to call the codec endpoints (CORS); see ui_origin().
    temporal_ui_origin: str | None = Field(default=None, alias="STEPDOWN_TEMPORAL_UI_ORIGIN")
    # key id -> base64 of a 32-byte AES key; several during a rotation. JSON in the environment.
    payload_keys: dict[str, SecretStr] = Field(default_factory=dict, alias="STEPDOWN_PAYLOAD_KEYS")
    # The key new payloads are encrypted with; may be left out when there is only one key.
    payload_active_key: str | None = Field(default=None, alias="STEPDOWN_PAYLOAD_ACTIVE_KEY")
    # The dev stack (`stepdown dev`): where it keeps its files and where its processes listen.
    data_dir: Path = Field(default=DATA_DIR, alias="STEPDOWN_DATA_DIR")
    # None: <data_dir>/temporal.db, the dev server's persistent SQLite file.
    temporal_db_path: Path | None = Field(default=None, alias="STEPDOWN_TEMPORAL_DB")
    # The API as callers reach it (CLI, simulator); None: http://<api_host>:<api_port>.
    api_url: str | None = Field(default=None, alias="STEPDOWN_API_URL")
    # The payer simulator of the dev stack (payers/simulator.py).
    simulator_host: str = Field(default="127.0.0.1", alias="STEPDOWN_SIM_HOST")
    simulator_port: int = Field(default=8100, alias="STEPDOWN_SIM_PORT")
    # None: http://<simulator_host>:<simulator_port>.
    simulator_url: str | None = Field(default=None, alias="STEPDOWN_SIM_URL")
    # Weights of the simulator's answers (X12 306 actions, or "none" for silence); JSON.
    simulator_mix: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SIM_MIX), alias="STEPDOWN_SIM_MIX"
    )
    # Weights of the webhook formats it answers in: "json", "fhir", "x12"; JSON.
    simulator_formats: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SIM_FORMATS), alias="STEPDOWN_SIM_FORMATS"
    )
    simulator_delay_seconds: float = Field(default=4.0, ge=0, alias="STEPDOWN_SIM_DELAY")
    # With the default mix this seed answers the demo episodes with approvals, a modified
    # approval, denials, a pend and silence, in all three formats (tests/devstack/test_demo.py).
    simulator_seed: int = Field(default=941, alias="STEPDOWN_SIM_SEED")
    # The facility's time zone (IANA name): the console shows exact due times in it.
    console_timezone: str = Field(default="UTC", alias="STEPDOWN_CONSOLE_TIMEZONE")
    # Console sessions end after this long without a request, and after the absolute lifetime.
    console_idle_minutes: int = Field(default=30, ge=1, le=720, alias="STEPDOWN_CONSOLE_IDLE")
    console_session_hours: int = Field(default=12, ge=1, le=168, alias="STEPDOWN_CONSOLE_LIFETIME")
    # Failed attempts before a 429 with Retry-After, within `throttle_window_seconds`.
    signin_failures_per_account: int = Field(
        default=5, ge=1, alias="STEPDOWN_SIGNIN_FAILURES_PER_ACCOUNT"
    )
    signin_failures_per_address: int = Field(
        default=20, ge=1, alias="STEPDOWN_SIGNIN_FAILURES_PER_ADDRESS"
    )
    bearer_failures_per_address: int = Field(
        default=20, ge=1, alias="STEPDOWN_BEARER_FAILURES_PER_ADDRESS"
    )
    throttle_window_seconds: int = Field(
        default=900, ge=10, le=86_400, alias="STEPDOWN_THROTTLE_WINDOW"
    )

    @field_validator("console_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name") from None
        return zone

    @field_validator("payload_keys")
    @classmethod
    def _keys_are_aes_256(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, key in keys.items():
            try:
                decode_payload_key(key.get_secret_value())
            except ValueError as err:
                raise ValueError(f"STEPDOWN_PAYLOAD_KEYS[{key_id!r}]: {err}") from None
        return keys

    @model_validator(mode="after")
    def _dev_values_only_in_dev(self) -> Settings:
        if self.dev_mode:
            if not self.api_tokens:
                self.api_tokens = dict(DEV_TOKENS)
            if not self.webhook_secrets:
                self.webhook_secrets = {"*": [DEV_WEBHOOK_SECRET]}
            return self
        dev_hashes = {hash_token(token) for token in DEV_TOKENS}
        dev_tokens = (set(DEV_TOKENS) | dev_hashes) & set(self.api_tokens)
        dev_secret = any(DEV_WEBHOOK_SECRET in s for s in self.webhook_secrets.values())
        if dev_tokens or dev_secret:
            raise ValueError("dev tokens or the dev webhook secret are configured outside dev mode")
        return self

    @model_validator(mode="after")
    def _tokens_hashed_outside_dev(self) -> Settings:
        problems = _token_problems(self.api_tokens, self.dev_mode)
        if problems:
            raise ValueError(f"STEPDOWN_API_TOKENS: {'; '.join(problems)}")
        return self

    @model_validator(mode="after")
    def _payload_keys_in_dev_and_prod(self) -> Settings:
        # A missing key outside dev is reported by build_data_converter, not here, so that
        # Settings() stays constructible for tests and tools that never touch Temporal.
        if self.dev_mode and not self.payload_keys:
            self.payload_keys = {DEV_PAYLOAD_KEY_ID: SecretStr(DEV_PAYLOAD_KEY)}
        keyring = self.payload_keyring()
        if not self.dev_mode and decode_payload_key(DEV_PAYLOAD_KEY) in keyring.values():
            raise ValueError("the dev payload key is configured outside dev mode")
        if self.payload_active_key is None and len(keyring) == 1:
            self.payload_active_key = next(iter(keyring))
        if self.payload_active_key is not None and self.payload_active_key not in keyring:
            raise ValueError(
                f"STEPDOWN_PAYLOAD_ACTIVE_KEY {self.payload_active_key!r} "
                "is not a key id of STEPDOWN_PAYLOAD_KEYS"
            )
        return self

    def payload_keyring(self) -> dict[str, bytes]:
        return {k: decode_payload_key(v.get_secret_value()) for k, v in self.payload_keys.items()}

    def ui_origin(self) -> str:
        return self.temporal_ui_origin or f"http://127.0.0.1:{self.temporal_ui_port}"

    def secrets_for(self, payer_id: str) -> list[str]:
        return self.webhook_secrets.get(payer_id) or self.webhook_secrets.get("*", [])

    @field_validator("simulator_mix", "simulator_formats")
    @classmethod
    def _weights(cls, weights: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        known = SIM_ACTIONS if info.field_name == "simulator_mix" else SIM_FORMATS
        unknown = sorted(set(weights) - set(known))
        if unknown:
            raise ValueError(f"unknown keys {unknown}; use some of {list(known)}")
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("weights must be non-negative and add up to more than 0")
        return weights

    def public_api_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    def simulator_base_url(self) -> str:
        url = self.simulator_url or f"http://{self.simulator_host}:{self.simulator_port}"
        return url.rstrip("/")

    def temporal_db(self) -> Path:
        return self.temporal_db_path or self.data_dir / "temporal.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def main(argv: list[str]) -> int:
    """`python -m settings hash-token [TOKEN]`: the STEPDOWN_API_TOKENS key of a token.

    Without TOKEN the token is read from standard input, which keeps it out of shell history.
    """
    if not argv or argv[0] != "hash-token" or len(argv) > 2:
        sys.stderr.write("usage: python -m settings hash-token [TOKEN]  (TOKEN from stdin)\n")
        return 2
    token = argv[1] if len(argv) == 2 else sys.stdin.readline().strip()
    if not token:
        sys.stderr.write("no token given\n")
        return 2
    sys.stdout.write(hash_token(token) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

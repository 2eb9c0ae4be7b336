"""One validated settings object for every process; refuses dev secrets outside dev mode."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from payers.formats.x12_837i import Address, Submitter

DEV_TOKENS = {
    "dev-intake": "intake",
    "dev-billing": "billing",
    "dev-ops": "ops",
    "dev-admin": "admin",
}
DEV_WEBHOOK_SECRET = "dev-webhook-secret"
# name, NPI of the requesting program; name, NPI of the rendering clinician (dev mode only).
DEV_PROVIDER = ("stepdown dev IOP program", "1234567893", "Ada Byron King", "1245319599")
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


# The dev stack's claims submitter: test usage (ISA15 T), a check-digit-valid demo NPI.
DEV_SUBMITTER = Submitter(
    name="Stepdown Demo IOP",
    npi="1234567893",
    tax_id="000000000",
    address=Address(line="1 Demo Way", city="Springfield", state="IL", zip="627010000"),
    contact_name="Demo Billing",
    contact_phone="5555550100",
    sender_id="STEPDOWNDEV",
    receiver_id="DEVCLEARING",
    receiver_name="Dev Clearinghouse",
    usage="T",
)
DEV_NOTIFY_EMAILS = {role: [f"{role}@stepdown.test"] for role in ("intake", "billing", "ops")}


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


class DevStackSettings(BaseModel):
    """What only `stepdown dev` reads: the dev Temporal server's file and UI, the mail sink."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    # None: <data_dir>/temporal.db, the dev server's persistent SQLite file.
    temporal_db_path: Path | None = Field(default=None, alias="STEPDOWN_TEMPORAL_DB")
    # Also the default origin the API lets call its codec endpoints (Settings.ui_origin).
    temporal_ui_port: int = Field(default=8233, alias="STEPDOWN_TEMPORAL_UI_PORT")
    # The dev stack's SMTP sink (devstack/mailsink.py) and the page listing what it received.
    smtp_port: int = Field(default=8025, alias="STEPDOWN_DEV_SMTP_PORT")
    mail_port: int = Field(default=8026, alias="STEPDOWN_DEV_MAIL_PORT")


class SimulatorSettings(BaseModel):
    """The payer simulator of the dev stack (payers/simulator.py)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    host: str = Field(default="127.0.0.1", alias="STEPDOWN_SIM_HOST")
    port: int = Field(default=8100, alias="STEPDOWN_SIM_PORT")
    # None: http://<host>:<port>.
    url: str | None = Field(default=None, alias="STEPDOWN_SIM_URL")
    # Weights of the simulator's answers (X12 306 actions, or "none" for silence); JSON.
    mix: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SIM_MIX), alias="STEPDOWN_SIM_MIX"
    )
    # Weights of the webhook formats it answers in: "json", "fhir", "x12"; JSON.
    formats: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SIM_FORMATS), alias="STEPDOWN_SIM_FORMATS"
    )
    delay_seconds: float = Field(default=4.0, ge=0, alias="STEPDOWN_SIM_DELAY")
    # With the default mix this seed answers the demo episodes with approvals, a modified
    # approval, denials, a pend and silence, in all three formats (tests/devstack/test_demo.py).
    seed: int = Field(default=941, alias="STEPDOWN_SIM_SEED")
    # Its Da Vinci PAS clients: client id -> `env:NAME` or `file:/path` of the public key PEM
    # their client assertions are verified with.
    pas_clients: dict[str, str] = Field(default_factory=dict, alias="STEPDOWN_SIM_PAS_CLIENTS")

    @field_validator("mix", "formats")
    @classmethod
    def _weights(cls, weights: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        known = SIM_ACTIONS if info.field_name == "mix" else SIM_FORMATS
        unknown = sorted(set(weights) - set(known))
        if unknown:
            raise ValueError(f"unknown keys {unknown}; use some of {list(known)}")
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("weights must be non-negative and add up to more than 0")
        return weights

    def base_url(self) -> str:
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")

    def token_url(self) -> str:
        """Its SMART token endpoint, the `aud` of the assertions it accepts."""
        return f"{self.base_url()}/fhir/auth/token"


# Settings groups, by their attribute on Settings. Each member keeps its flat STEPDOWN_*
# name, read from the environment (_FlatEnvSource) or given to Settings(...) by it.
GROUPS: dict[str, type[BaseModel]] = {
    "devstack": DevStackSettings,
    "simulator": SimulatorSettings,
}


class _FlatEnvSource(EnvSettingsSource):
    """The environment, where a group is read member by member under their flat names, and
    never from one variable named after the group (a DEVSTACK in a shell is no setting)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        group = GROUPS.get(field_name)
        if group is None:
            return super().get_field_value(field, field_name)
        found = {}
        for name, member in group.model_fields.items():
            raw, key, is_complex = super().get_field_value(member, name)
            try:
                value = super().prepare_field_value(name, member, raw, is_complex)
            except ValueError as err:
                raise SettingsError(f"{key} is not valid JSON: {err}") from None
            if value is not None:
                found[key] = value
        return found, field_name, False

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if field_name in GROUPS:
            return value or None
        return super().prepare_field_value(field_name, field, value, value_is_complex)


def env_names() -> set[str]:
    """Every environment variable a setting is read from, the groups' members included."""
    fields = [*Settings.model_fields.values()]
    for group in GROUPS.values():
        fields += group.model_fields.values()
    return {field.alias for field in fields if field.alias}


class Settings(BaseSettings):
    # Errors never echo input: a bad key or token would otherwise end up in startup logs.
    model_config = SettingsConfigDict(
        env_prefix="", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _FlatEnvSource(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _flat_names_into_groups(cls, data: Any) -> Any:
        """Settings(STEPDOWN_SIM_SEED=…) sets the simulator's seed, as the environment does."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, group in GROUPS.items():
            aliases = [member.alias for member in group.model_fields.values() if member.alias]
            flat = {alias: data.pop(alias) for alias in aliases if alias in data}
            if flat:
                given = data.get(name) or {}
                if isinstance(given, BaseModel):
                    given = given.model_dump(by_alias=True, exclude_unset=True)
                data[name] = {**given, **flat}
        return data

    dev_mode: bool = Field(default=False, alias="STEPDOWN_DEV")
    database_url: str = Field(default=f"sqlite:///{DATA_DIR}/stepdown.db", alias="DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    # The one name of the episodes' task queue: worker, API and dev stack all read it here.
    task_queue: str = Field(default="stepdown-episodes", alias="STEPDOWN_TASK_QUEUE")
    # A secured Temporal (self-hosted with TLS/mTLS, or Temporal Cloud); the names are those of
    # Temporal's own environment configuration. TLS is on when TEMPORAL_TLS is true or any of
    # the CA, the client certificate or the API key is set (workflows/connection.py).
    temporal_tls: bool | None = Field(default=None, alias="TEMPORAL_TLS")
    # PEM bundle of the CA(s) that signed the server's certificate; None: the system's roots.
    temporal_tls_ca_file: Path | None = Field(
        default=None, alias="TEMPORAL_TLS_SERVER_CA_CERT_PATH"
    )
    # The name the server's certificate must carry, when it is not the host of TEMPORAL_ADDRESS.
    temporal_tls_server_name: str | None = Field(default=None, alias="TEMPORAL_TLS_SERVER_NAME")
    # mTLS: client certificate and key files, read again when they change (rotation).
    temporal_tls_cert_file: Path | None = Field(default=None, alias="TEMPORAL_TLS_CLIENT_CERT_PATH")
    temporal_tls_key_file: Path | None = Field(default=None, alias="TEMPORAL_TLS_CLIENT_KEY_PATH")
    # Temporal Cloud API key (instead of, or besides, a client certificate).
    temporal_api_key: SecretStr | None = Field(default=None, alias="TEMPORAL_API_KEY")
    # How often the worker and the API look at the certificate files for a rotation.
    temporal_tls_reload_seconds: float = Field(
        default=60.0, gt=0, alias="STEPDOWN_TEMPORAL_TLS_RELOAD"
    )
    # The worker's Temporal SDK metrics for Prometheus, e.g. "0.0.0.0:9464"; None: off.
    temporal_metrics_address: str | None = Field(
        default=None, alias="STEPDOWN_TEMPORAL_METRICS_ADDRESS"
    )
    # OpenTelemetry tracing (HTTP request -> workflow update -> activities), exported over
    # OTLP/HTTP to this collector URL, e.g. "http://otel-collector:4318"; None: off.
    otlp_endpoint: str | None = Field(default=None, alias="STEPDOWN_OTLP_ENDPOINT")
    # token hash -> role; JSON in the environment, e.g. {"sha256:<hex>": "ops"}; see
    # hash_token(). Plain tokens as keys are accepted only in dev mode.
    api_tokens: dict[str, str] = Field(default_factory=dict, alias="STEPDOWN_API_TOKENS")
    # payer id -> list of secrets (several during a rotation); "*" applies to every payer.
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=dict, alias="STEPDOWN_WEBHOOK_SECRETS"
    )
    # How far a signature's timestamp may be from now. Under 30 s honest clock skew fails;
    # over 900 s a captured delivery stays usable (and its signature remembered) too long.
    webhook_tolerance_seconds: int = Field(
        default=300, ge=30, le=900, alias="STEPDOWN_WEBHOOK_TOLERANCE"
    )
    # How often the API's redelivery loop hands queued webhook deliveries to the workflows.
    redelivery_interval_seconds: float = Field(
        default=5.0, gt=0, alias="STEPDOWN_REDELIVERY_INTERVAL"
    )
    # Worker versioning (worker.deployment_config): the Worker Deployment this worker belongs
    # to, and its build; unset, the worker is unversioned.
    worker_deployment: str | None = Field(
        default=None, min_length=1, max_length=100, alias="STEPDOWN_WORKER_DEPLOYMENT"
    )
    worker_build_id: str = Field(
        default="dev", min_length=1, max_length=100, alias="STEPDOWN_WORKER_BUILD_ID"
    )
    # Workflows the worker keeps in memory between tasks (the SDK's sticky cache); one past it
    # is evicted and replayed from history on its next task, so memory stays bounded however
    # many episodes are open (bench.scale shows it).
    worker_max_cached_workflows: int = Field(
        default=1000, ge=0, le=100_000, alias="STEPDOWN_WORKER_MAX_CACHED_WORKFLOWS"
    )
    # How often the API looks for episodes whose workflow task keeps failing (api/stuck.py);
    # 0 turns the scan off.
    stuck_scan_interval_seconds: float = Field(
        default=300.0, ge=0, alias="STEPDOWN_STUCK_SCAN_INTERVAL"
    )
    # How long the API waits on Temporal for one call before answering 503 (webhooks: queued).
    temporal_timeout_seconds: float = Field(default=20.0, gt=0, alias="STEPDOWN_TEMPORAL_TIMEOUT")
    continue_as_new_after_events: int = Field(default=500, alias="STEPDOWN_CAN_AFTER_EVENTS")
    continue_as_new_after_history_events: int = Field(
        default=200, ge=50, alias="STEPDOWN_CAN_AFTER_HISTORY_EVENTS"
    )
    # How long Temporal keeps a closed workflow run (the namespace's retention), registered
    # at startup by the worker and `stepdown dev`. Temporal is not the record: the event
    # store is (README, "The record"); archive histories for longer (deploy/README.md).
    temporal_retention_days: int = Field(
        default=30, ge=1, le=3650, alias="STEPDOWN_TEMPORAL_RETENTION_DAYS"
    )
    # How long the event store keeps an episode's events after its last one before
    # `stepdown events purge` may delete them; never below HIPAA's six years
    # (45 CFR 164.316(b)(2)). The default's reasons are in README, "Retention".
    event_retention_years: int = Field(default=10, ge=6, alias="STEPDOWN_EVENT_RETENTION_YEARS")
    api_host: str = Field(default="127.0.0.1", alias="STEPDOWN_API_HOST")
    api_port: int = Field(default=8000, alias="STEPDOWN_API_PORT")
    # The Temporal UI's origin, allowed to call the codec endpoints (CORS); see ui_origin().
    temporal_ui_origin: str | None = Field(default=None, alias="STEPDOWN_TEMPORAL_UI_ORIGIN")
    # key id -> base64 of a 32-byte AES key; several during a rotation. JSON in the environment.
    payload_keys: dict[str, SecretStr] = Field(default_factory=dict, alias="STEPDOWN_PAYLOAD_KEYS")
    # The key new payloads are encrypted with; may be left out when there is only one key.
    payload_active_key: str | None = Field(default=None, alias="STEPDOWN_PAYLOAD_ACTIVE_KEY")
    # Where `stepdown dev` keeps its files; also the base of the mailbox's and the claim
    # files' default folders, so it is not one of the dev stack's own settings below.
    data_dir: Path = Field(default=DATA_DIR, alias="STEPDOWN_DATA_DIR")
    # The API as callers reach it (CLI, simulator); None: http://<api_host>:<api_port>.
    api_url: str | None = Field(default=None, alias="STEPDOWN_API_URL")
    # What only `stepdown dev` and the payer simulator read, each under its flat env name.
    devstack: DevStackSettings = Field(default_factory=DevStackSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    # The clearinghouse mailbox (payers/mailbox.py): a local directory unless an SFTP host
    # is set. None: <data_dir>/mailbox.
    mailbox_dir: Path | None = Field(default=None, alias="STEPDOWN_MAILBOX_DIR")
    mailbox_sftp_host: str | None = Field(default=None, alias="STEPDOWN_MAILBOX_SFTP_HOST")
    mailbox_sftp_port: int = Field(default=22, gt=0, lt=65536, alias="STEPDOWN_MAILBOX_SFTP_PORT")
    mailbox_sftp_user: str | None = Field(default=None, alias="STEPDOWN_MAILBOX_SFTP_USER")
    # The private key we log in with, and the known_hosts file holding the server's host key.
    mailbox_sftp_key_file: Path | None = Field(default=None, alias="STEPDOWN_MAILBOX_SFTP_KEY_FILE")
    mailbox_sftp_known_hosts: Path | None = Field(
        default=None, alias="STEPDOWN_MAILBOX_SFTP_KNOWN_HOSTS"
    )
    # The folder on the server the three mailbox folders live under ("": the login folder).
    mailbox_sftp_root: str = Field(default="", alias="STEPDOWN_MAILBOX_SFTP_ROOT")
    mailbox_outbound: str = Field(default="outbound", alias="STEPDOWN_MAILBOX_OUTBOUND")
    mailbox_inbound: str = Field(default="inbound", alias="STEPDOWN_MAILBOX_INBOUND")
    mailbox_archive: str = Field(default="archive", alias="STEPDOWN_MAILBOX_ARCHIVE")
    # Seconds between the API's passes over the inbound folder; 0 turns the poller off.
    mailbox_poll_interval_seconds: float = Field(
        default=10.0, ge=0, alias="STEPDOWN_MAILBOX_POLL_INTERVAL"
    )
    # The X12 envelope (ISA06/GS02 us, ISA08/GS03 the clearinghouse, ISA15 P or T) and the
    # requester of loop 2010B. None outside dev mode: the X12 channel refuses to start.
    x12_sender_id: str = Field(default="STEPDOWN", min_length=1, max_length=15,
                               alias="STEPDOWN_X12_SENDER_ID")  # fmt: skip
    x12_receiver_id: str = Field(default="CLEARINGHOUSE", min_length=1, max_length=15,
                                 alias="STEPDOWN_X12_RECEIVER_ID")  # fmt: skip
    x12_usage: Literal["P", "T"] = Field(default="P", alias="STEPDOWN_X12_USAGE")
    # The requester of loop 2010B is provider_name / provider_npi below (shared with PAS).

    # The claims outbox: who submits the 837I batches (billing provider, clearinghouse ids;
    # JSON, see payers/formats/x12_837i.Submitter), where batch files go, how often to cut.
    claims_submitter: Submitter | None = Field(default=None, alias="STEPDOWN_CLAIMS_SUBMITTER")
    # None: <data_dir>/claims/outbound.
    claim_files_dir: Path | None = Field(default=None, alias="STEPDOWN_CLAIM_FILES_DIR")
    # Seconds between scheduled batch cuts in the worker; 0 cuts only on demand.
    claims_batch_interval_seconds: float = Field(
        default=900.0, ge=0, alias="STEPDOWN_CLAIMS_BATCH_INTERVAL"
    )
    claims_batch_max: int = Field(default=500, ge=1, le=5000, alias="STEPDOWN_CLAIMS_BATCH_MAX")
    # Staff notifications by email; no SMTP host: stored for the console only.
    smtp_host: str | None = Field(default=None, alias="STEPDOWN_SMTP_HOST")
    smtp_port: int = Field(default=587, alias="STEPDOWN_SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="STEPDOWN_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, alias="STEPDOWN_SMTP_PASSWORD")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls", alias="STEPDOWN_SMTP_TLS"
    )
    mail_from: str = Field(default="stepdown@localhost", alias="STEPDOWN_MAIL_FROM")
    # {kind or role: [address, …]}; a kind's list replaces its roles' lists. JSON.
    notify_emails: dict[str, list[str]] = Field(
        default_factory=dict, alias="STEPDOWN_NOTIFY_EMAILS"
    )
    # {kind: [role, …]} overriding activities/notifier.DEFAULT_ROLES. JSON.
    notify_roles: dict[str, list[str]] = Field(default_factory=dict, alias="STEPDOWN_NOTIFY_ROLES")

    # The requesting provider named in Da Vinci PAS requests (Organization, NPI), and the
    # rendering practitioner when there is one; PAS submissions fail until both are set.
    provider_name: str | None = Field(default=None, alias="STEPDOWN_PROVIDER_NAME")
    provider_npi: str | None = Field(
        default=None, pattern=r"^\d{10}$", alias="STEPDOWN_PROVIDER_NPI"
    )
    rendering_name: str | None = Field(default=None, alias="STEPDOWN_RENDERING_NAME")
    rendering_npi: str | None = Field(
        default=None, pattern=r"^\d{10}$", alias="STEPDOWN_RENDERING_NPI"
    )

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

    # Single sign-on with the organization's OpenID Connect provider (api/console/sso.py):
    # the issuer URL (its /.well-known/openid-configuration is read) and this client's id;
    # unset: no "Sign in with single sign-on" button. The secret is optional (PKCE is used
    # either way). Roles come from the ID token's `oidc_roles_claim` through `oidc_role_map`
    # ({"claim value": "role"}, JSON); a person none maps to a role is refused.
    oidc_issuer: str | None = Field(default=None, alias="STEPDOWN_OIDC_ISSUER")
    oidc_client_id: str | None = Field(default=None, alias="STEPDOWN_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(default=None, alias="STEPDOWN_OIDC_CLIENT_SECRET")
    oidc_roles_claim: str = Field(default="groups", alias="STEPDOWN_OIDC_ROLES_CLAIM")
    oidc_role_map: dict[str, str] = Field(default_factory=dict, alias="STEPDOWN_OIDC_ROLE_MAP")
    oidc_username_claim: str = Field(
        default="preferred_username", alias="STEPDOWN_OIDC_USERNAME_CLAIM"
    )

    @field_validator("oidc_role_map")
    @classmethod
    def _known_oidc_roles(cls, mapping: dict[str, str]) -> dict[str, str]:
        unknown = sorted({role for role in mapping.values() if role not in ROLES})
        if unknown:
            raise ValueError(f"unknown roles {unknown}; use some of {list(ROLES)}")
        return mapping

    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

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
    def _dev_provider(self) -> Settings:
        # The dev stack's PAS requests name a made-up program with valid-looking NPIs.
        if self.dev_mode and self.provider_npi is None:
            self.provider_name = self.provider_name or DEV_PROVIDER[0]
            self.provider_npi = DEV_PROVIDER[1]
            self.rendering_name = self.rendering_name or DEV_PROVIDER[2]
            self.rendering_npi = self.rendering_npi or DEV_PROVIDER[3]
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

    @model_validator(mode="after")
    def _sftp_mailbox_complete(self) -> Settings:
        if self.mailbox_sftp_host is None:
            return self
        missing = [
            alias
            for alias, value in (
                ("STEPDOWN_MAILBOX_SFTP_USER", self.mailbox_sftp_user),
                ("STEPDOWN_MAILBOX_SFTP_KEY_FILE", self.mailbox_sftp_key_file),
                ("STEPDOWN_MAILBOX_SFTP_KNOWN_HOSTS", self.mailbox_sftp_known_hosts),
            )
            if not value
        ]
        if missing:
            # No host key check and no password fallback: an SFTP mailbox needs all three.
            raise ValueError(f"STEPDOWN_MAILBOX_SFTP_HOST is set but {', '.join(missing)} is not")
        return self

    @model_validator(mode="after")
    def _dev_x12_usage(self) -> Settings:
        # The dev stack's 278s are test interchanges (ISA15 T) unless said otherwise.
        if self.dev_mode and self.x12_usage == "P" and "x12_usage" not in self.model_fields_set:
            self.x12_usage = "T"
        return self

    def mailbox_directory(self) -> Path:
        return self.mailbox_dir or self.data_dir / "mailbox"

    @field_validator("notify_roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted({r for listed in roles.values() for r in listed if r not in ROLES})
        if unknown:
            raise ValueError(f"unknown roles {unknown}; use some of {list(ROLES)}")
        return roles

    @field_validator("notify_emails")
    @classmethod
    def _addresses(cls, emails: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = sorted(a for listed in emails.values() for a in listed if "@" not in a.strip("@"))
        if bad:
            raise ValueError(f"{len(bad)} address(es) without a domain")
        return emails

    @model_validator(mode="after")
    def _claims_and_mail_in_dev(self) -> Settings:
        """Dev mode: a demo submitter, the dev SMTP sink, one address per role, and a cut
        every 20 s so a newcomer sees an 837I batch within a minute."""
        if not self.dev_mode:
            return self
        if self.claims_submitter is None:
            self.claims_submitter = DEV_SUBMITTER
        if self.smtp_host is None:
            self.smtp_host, self.smtp_port, self.smtp_tls = (
                "127.0.0.1",
                self.devstack.smtp_port,
                "none",
            )
        if not self.notify_emails:
            self.notify_emails = {k: list(v) for k, v in DEV_NOTIFY_EMAILS.items()}
        if "claims_batch_interval_seconds" not in self.model_fields_set:
            self.claims_batch_interval_seconds = 20.0
        return self

    def claim_files(self) -> Path:
        return self.claim_files_dir or self.data_dir / "claims" / "outbound"

    @model_validator(mode="after")
    def _temporal_tls_consistent(self) -> Settings:
        cert, key = self.temporal_tls_cert_file, self.temporal_tls_key_file
        if (cert is None) != (key is None):
            missing = (
                "TEMPORAL_TLS_CLIENT_KEY_PATH" if key is None else "TEMPORAL_TLS_CLIENT_CERT_PATH"
            )
            raise ValueError(f"mTLS needs a client certificate and its key; {missing} is not set")
        secured = [
            name
            for name, value in (
                ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", self.temporal_tls_ca_file),
                ("TEMPORAL_TLS_CLIENT_CERT_PATH", cert),
                ("TEMPORAL_API_KEY", self.temporal_api_key),
            )
            if value is not None
        ]
        if self.temporal_tls is False and secured:
            raise ValueError(f"TEMPORAL_TLS is false but {', '.join(secured)} needs TLS")
        return self

    def temporal_tls_enabled(self) -> bool:
        if self.temporal_tls is not None:
            return self.temporal_tls
        return any(
            value is not None
            for value in (
                self.temporal_tls_ca_file,
                self.temporal_tls_cert_file,
                self.temporal_api_key,
                self.temporal_tls_server_name,
            )
        )

    def payload_keyring(self) -> dict[str, bytes]:
        return {k: decode_payload_key(v.get_secret_value()) for k, v in self.payload_keys.items()}

    def ui_origin(self) -> str:
        return self.temporal_ui_origin or f"http://127.0.0.1:{self.devstack.temporal_ui_port}"

    def secrets_for(self, payer_id: str) -> list[str]:
        return self.webhook_secrets.get(payer_id) or self.webhook_secrets.get("*", [])

    def public_api_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    def temporal_db(self) -> Path:
        return self.devstack.temporal_db_path or self.data_dir / "temporal.db"


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

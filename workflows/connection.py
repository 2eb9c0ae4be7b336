"""The one way every process reaches Temporal: plaintext, TLS, mTLS or a Temporal Cloud API key.

The worker, the API, the CLI and `stepdown dev` all call connect(). Credentials are checked
before dialling (files readable, PEM, not expired, key matching certificate), and a failed
dial is explained in words an operator can act on (unknown CA, wrong server name, client
certificate refused, wrong namespace). No message quotes a key or an API key.

Rotation: a CredentialWatcher polls the certificate and key files (every
STEPDOWN_TEMPORAL_TLS_RELOAD seconds) and, when their bytes change, connects a new client
with them and hands it over (the worker swaps `worker.client`, the API its episode client);
a rotated pair that does not validate is logged and the old client kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import temporalio.api.workflowservice.v1 as service
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from workflows.codec import build_data_converter

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger("stepdown.temporal")

CONNECT_TIMEOUT = timedelta(seconds=10)
CA_FILE = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
CERT_FILE = "TEMPORAL_TLS_CLIENT_CERT_PATH"
KEY_FILE = "TEMPORAL_TLS_CLIENT_KEY_PATH"
# How rustls/tonic report a server that drops the connection once it has seen our certificate.
CLOSED_AFTER_HANDSHAKE = (
    "CertificateRequired",
    "BadCertificate",
    "UnknownCA",
    "UnexpectedEof",
    "close_notify",
    "connection closed",
    "get_system_info",
)


class TemporalConnectionError(RuntimeError):
    """Temporal cannot be reached with these settings; the message says what to fix."""


@dataclass(frozen=True)
class Credentials:
    """What a client dials with, read from the settings' files at one moment."""

    tls: bool | TLSConfig
    api_key: str | None
    # A digest of the certificate, key and CA files' bytes: a rotation changes it.
    fingerprint: str


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise TemporalConnectionError(
            f"{setting}: cannot read {path} ({err.strerror or type(err).__name__})"
        ) from None


def _certificates(data: bytes, path: Path, setting: str) -> list[x509.Certificate]:
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise TemporalConnectionError(f"{setting}: {path} holds no PEM certificate")
    return found


def _check_validity(cert: x509.Certificate, what: str, now: datetime) -> None:
    subject = cert.subject.rfc4514_string() or "(no subject)"
    if cert.not_valid_after_utc <= now:
        raise TemporalConnectionError(
            f"{what} {subject} expired at {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    if cert.not_valid_before_utc > now:
        raise TemporalConnectionError(
            f"{what} {subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )


def _client_pair(settings: Settings, now: datetime) -> tuple[bytes, bytes] | None:
    cert_path, key_path = settings.temporal_tls_cert_file, settings.temporal_tls_key_file
    if cert_path is None or key_path is None:
        return None
    cert_pem, key_pem = _read(cert_path, CERT_FILE), _read(key_path, KEY_FILE)
    cert = _certificates(cert_pem, cert_path, CERT_FILE)[0]
    _check_validity(cert, f"{CERT_FILE}: the client certificate", now)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        # Never echo the key file: it is a secret even when malformed.
        raise TemporalConnectionError(
            f"{KEY_FILE}: {key_path} holds no unencrypted PEM private key"
        ) from None
    if key.public_key() != cert.public_key():
        raise TemporalConnectionError(
            f"{KEY_FILE}: the key in {key_path} does not belong to the certificate in {cert_path}"
        )
    return cert_pem, key_pem


def load_credentials(settings: Settings, now: datetime | None = None) -> Credentials:
    """The settings' TLS config and API key; raises TemporalConnectionError naming the problem."""
    now = now or datetime.now(UTC)
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    if not settings.temporal_tls_enabled():
        return Credentials(False, api_key, "plaintext")
    ca_pem = None
    if settings.temporal_tls_ca_file is not None:
        ca_pem = _read(settings.temporal_tls_ca_file, CA_FILE)
        for ca in _certificates(ca_pem, settings.temporal_tls_ca_file, CA_FILE):
            _check_validity(ca, f"{CA_FILE}: the CA certificate", now)
    pair = _client_pair(settings, now)
    digest = hashlib.sha256()
    for part in (ca_pem, *(pair or ())):
        digest.update(hashlib.sha256(part or b"").digest())
    tls = TLSConfig(
        server_root_ca_cert=ca_pem,
        domain=settings.temporal_tls_server_name,
        client_cert=pair[0] if pair else None,
        client_private_key=pair[1] if pair else None,
    )
    return Credentials(tls, api_key, digest.hexdigest())


def explain(err: BaseException, settings: Settings) -> str:
    """A failed dial in an operator's words, with the SDK's own reason last."""
    text = str(err)
    if settings.temporal_api_key is not None:
        text = text.replace(settings.temporal_api_key.get_secret_value(), "<api key>")
    where = f"Temporal at {settings.temporal_address}"
    tls = settings.temporal_tls_enabled()
    trusted = (
        f"the CA in {CA_FILE} ({settings.temporal_tls_ca_file})"
        if settings.temporal_tls_ca_file
        else "the system's root CAs"
    )
    if "UnknownIssuer" in text:
        reason = (
            f"unknown CA: the server's certificate is not signed by {trusted}; "
            f"point {CA_FILE} at the CA that issued it"
        )
    elif "NotValidForName" in text:
        name = settings.temporal_tls_server_name or settings.temporal_address.rsplit(":", 1)[0]
        reason = (
            f"the server's certificate is not valid for the name {name!r}; "
            "set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries"
        )
    elif "Expired" in text:
        reason = "the server's certificate has expired"
    elif "Unauthenticated" in text or "PermissionDenied" in text:
        reason = (
            "Temporal refused these credentials; check that TEMPORAL_API_KEY (or the client "
            f"certificate) is current and allowed on namespace {settings.temporal_namespace!r}"
        )
    elif "InvalidContentType" in text or "CorruptMessage" in text:
        reason = "the server does not speak TLS here; set TEMPORAL_TLS=false or use its TLS port"
    elif tls and any(sign in text for sign in CLOSED_AFTER_HANDSHAKE):
        # With TLS 1.3 the server judges the client certificate after the client considers
        # the handshake done, so a refusal shows up as the first call's connection closing.
        if settings.temporal_tls_cert_file is None:
            reason = (
                "the server closed the connection after the TLS handshake: it requires a "
                f"client certificate (mTLS); set {CERT_FILE} and {KEY_FILE}"
            )
        else:
            reason = (
                "the server closed the connection after the TLS handshake: it requires a "
                f"client certificate and refused ours ({settings.temporal_tls_cert_file}); "
                "check that the server trusts its CA and that it is the right one"
            )
    elif not tls and ("BrokenPipe" in text or "transport error" in text):
        reason = (
            "the connection was closed at once; if the server expects TLS, set TEMPORAL_TLS=true"
        )
    elif "Connection refused" in text or "ConnectionRefused" in text:
        reason = "nothing listens there (connection refused)"
    else:
        reason = "the connection failed"
    return f"cannot connect to {where}: {reason} [{text}]"


async def check_namespace(client: Client, settings: Settings) -> None:
    """Fails with a readable error when the namespace is unknown or closed to these credentials."""
    namespace = settings.temporal_namespace
    try:
        await client.workflow_service.describe_namespace(
            service.DescribeNamespaceRequest(namespace=namespace), timeout=CONNECT_TIMEOUT
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise TemporalConnectionError(
                f"namespace {namespace!r} does not exist at {settings.temporal_address}; "
                "check TEMPORAL_NAMESPACE (Temporal Cloud: <name>.<account id>)"
            ) from None
        if err.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED):
            raise TemporalConnectionError(
                f"Temporal at {settings.temporal_address} refused these credentials for "
                f"namespace {namespace!r} ({err.status.name}); check TEMPORAL_NAMESPACE and "
                "that the API key or client certificate is allowed on it"
            ) from None
        raise


async def connect(
    settings: Settings,
    *,
    data_converter: DataConverter | None = None,
    lazy: bool = False,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
    credentials: Credentials | None = None,
    connect_timeout: timedelta = CONNECT_TIMEOUT,
) -> Client:
    """A client of the settings' Temporal; every process connects through here.

    Unless `lazy`, the namespace is checked too, so a wrong one fails at startup.
    `data_converter` defaults to the settings' payload keys (PayloadKeyError if none).
    """
    credentials = credentials or load_credentials(settings)
    try:
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            api_key=credentials.api_key,
            tls=credentials.tls,
            data_converter=data_converter or build_data_converter(settings),
            interceptors=interceptors,
            runtime=runtime,
            lazy=lazy,
            connect_timeout=connect_timeout,
        )
    except RuntimeError as err:
        raise TemporalConnectionError(explain(err, settings)) from None
    if not lazy:
        await check_namespace(client, settings)
    return client


class CredentialWatcher:
    """Reconnects when the certificate files change and hands the new client to `swap`."""

    def __init__(
        self,
        settings: Settings,
        current: Credentials,
        swap: Callable[[Client], Awaitable[None] | None],
        reconnect: Callable[[Credentials], Awaitable[Client]],
    ) -> None:
        self._settings = settings
        self._current = current
        self._swap = swap
        self._reconnect = reconnect

    @property
    def fingerprint(self) -> str:
        return self._current.fingerprint

    async def check(self) -> bool:
        """One look at the files: True when a rotated pair was connected and swapped in."""
        try:
            fresh = await asyncio.to_thread(load_credentials, self._settings)
        except TemporalConnectionError as err:
            # Mid-rotation (key written, certificate not yet) or broken: keep what works.
            log.error("rotated Temporal credentials refused, keeping the current ones: %s", err)
            return False
        if fresh.fingerprint == self._current.fingerprint:
            return False
        try:
            client = await self._reconnect(fresh)
        except TemporalConnectionError as err:
            log.error("rotated Temporal credentials do not connect, keeping the old: %s", err)
            return False
        outcome = self._swap(client)
        if outcome is not None:
            await outcome
        self._current = fresh
        log.info("Temporal client certificate rotated; new connections use it")
        return True

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._settings.temporal_tls_reload_seconds
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                await self.check()


def watches_files(settings: Settings) -> bool:
    """Whether there are certificate files a rotation could change."""
    return settings.temporal_tls_enabled() and (
        settings.temporal_tls_cert_file is not None or settings.temporal_tls_ca_file is not None
    )

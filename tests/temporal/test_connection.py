"""Secure connections to Temporal: the dev server behind a real TLS terminator.

Certificates are made here with `cryptography`; the terminator (tests/support/tls.py) ends
TLS, demands a client certificate for mTLS, and forwards to the session's dev server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from cli import app
from settings import Settings, get_settings
from tests.support.tls import Issued, Terminator, issue, make_ca, tls_terminator
from workflows.connection import (
    Credentials,
    CredentialWatcher,
    TemporalConnectionError,
    load_credentials,
)
from workflows.temporal import DATA_CONVERTER, connect

API_KEY = "sk-test-" + "9" * 24  # must never appear in an error


@dataclass
class Pki:
    directory: Path
    ca: Issued
    other_ca: Issued
    server: Issued

    def file(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    def client(self, name: str, **validity: Any) -> tuple[Path, Path]:
        return issue(self.ca, name, server=False, **validity).write(self.directory, name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca = make_ca()
    return Pki(
        tmp_path_factory.mktemp("pki"),
        ca,
        make_ca("an unrelated CA"),
        issue(ca, "localhost", server=True),
    )


def upstream(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@pytest_asyncio.fixture(loop_scope="session")
async def tls(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[Terminator]:
    async with tls_terminator(upstream(dev_env), pki.server, pki.directory) as terminator:
        yield terminator


@pytest_asyncio.fixture(loop_scope="session")
async def mtls(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[Terminator]:
    async with tls_terminator(
        upstream(dev_env), pki.server, pki.directory, client_ca=pki.ca
    ) as terminator:
        yield terminator


def settings_for(address: str, namespace: str = "default", **env: Any) -> Settings:
    values = {"STEPDOWN_DEV": True, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
    return Settings.model_validate(values | {k: v for k, v in env.items() if v is not None})


async def refused(settings: Settings) -> str:
    with pytest.raises(TemporalConnectionError) as caught:
        await connect(settings, connect_timeout=timedelta(seconds=5))
    message = str(caught.value)
    assert API_KEY not in message
    return message


async def test_tls_with_the_servers_ca(tls: Terminator, pki: Pki) -> None:
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    client = await connect(settings_for(tls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca))
    assert await client.service_client.check_health()
    assert client.service_client.config.tls


async def test_tls_refuses_an_unknown_ca_readably(tls: Terminator, pki: Pki) -> None:
    other = pki.file("other-ca.pem", pki.other_ca.cert_pem())
    settings = settings_for(
        tls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH=other, TEMPORAL_API_KEY=API_KEY
    )
    message = await refused(settings)
    assert "unknown CA" in message
    assert str(other) in message and "TEMPORAL_TLS_SERVER_CA_CERT_PATH" in message


async def test_tls_names_a_server_name_mismatch(tls: Terminator, pki: Pki) -> None:
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    settings = settings_for(
        tls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca,
        TEMPORAL_TLS_SERVER_NAME="temporal.example.org",
    )
    message = await refused(settings)
    assert "'temporal.example.org'" in message and "TEMPORAL_TLS_SERVER_NAME" in message


async def test_plaintext_against_tls_says_to_turn_tls_on(tls: Terminator) -> None:
    assert "TEMPORAL_TLS=true" in await refused(settings_for(tls.address))


async def test_mtls_connects_with_a_client_certificate(mtls: Terminator, pki: Pki) -> None:
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    cert, key = pki.client("worker-a")
    settings = settings_for(
        mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH=cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=key,
    )
    client = await connect(settings)
    assert await client.service_client.check_health()
    assert issued_serial(cert) in mtls.client_serials


async def test_mtls_without_a_client_certificate_is_refused_readably(
    mtls: Terminator, pki: Pki
) -> None:
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    message = await refused(settings_for(mtls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca))
    assert "requires a client certificate" in message


async def test_mtls_refuses_a_certificate_of_another_ca_readably(
    mtls: Terminator, pki: Pki
) -> None:
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    cert, key = issue(pki.other_ca, "intruder", server=False).write(pki.directory, "intruder")
    settings = settings_for(
        mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH=cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=key,
    )
    message = await refused(settings)
    assert "refused ours" in message and str(cert) in message


async def test_tls_against_a_plaintext_server_says_so(dev_env: WorkflowEnvironment) -> None:
    message = await refused(settings_for(upstream(dev_env), TEMPORAL_TLS=True))
    assert "does not speak TLS" in message


async def test_an_expired_client_certificate_is_named_before_dialling(pki: Pki) -> None:
    past = datetime.now(UTC) - timedelta(days=2)
    cert, key = pki.client("expired", not_before=past, not_after=past + timedelta(days=1))
    settings = settings_for(
        "127.0.0.1:1", TEMPORAL_TLS_CLIENT_CERT_PATH=cert, TEMPORAL_TLS_CLIENT_KEY_PATH=key
    )
    message = await refused(settings)
    assert "TEMPORAL_TLS_CLIENT_CERT_PATH" in message and "expired at" in message


async def test_a_key_of_another_certificate_is_refused_without_quoting_it(pki: Pki) -> None:
    cert, _ = pki.client("holder")
    _, stranger_key = pki.client("stranger")
    settings = settings_for(
        "127.0.0.1:1",
        TEMPORAL_TLS_CLIENT_CERT_PATH=cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=stranger_key,
    )
    message = await refused(settings)
    assert "does not belong to the certificate" in message
    assert "PRIVATE KEY" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "cannot read"), (b"not a certificate", "holds no PEM certificate")],
)
async def test_an_unreadable_ca_file_is_named(
    pki: Pki, content: bytes | None, expected: str
) -> None:
    path = pki.directory / f"ca-{uuid.uuid4().hex}.pem"
    if content is not None:
        path.write_bytes(content)
    message = await refused(settings_for("127.0.0.1:1", TEMPORAL_TLS_SERVER_CA_CERT_PATH=path))
    assert expected in message and str(path) in message


async def test_a_wrong_namespace_is_named(dev_env: WorkflowEnvironment) -> None:
    message = await refused(settings_for(upstream(dev_env), namespace="no-such-namespace"))
    assert "namespace 'no-such-namespace' does not exist" in message


def test_half_an_mtls_pair_or_tls_off_with_tls_files_is_a_settings_error(pki: Pki) -> None:
    cert, _ = pki.client("lonely")
    with pytest.raises(ValidationError, match="TEMPORAL_TLS_CLIENT_KEY_PATH is not set"):
        settings_for("x:1", TEMPORAL_TLS_CLIENT_CERT_PATH=cert)
    with pytest.raises(ValidationError, match="TEMPORAL_TLS is false"):
        settings_for("x:1", TEMPORAL_TLS=False, TEMPORAL_API_KEY=API_KEY)
    with pytest.raises(ValidationError) as caught:
        settings_for("x:1", TEMPORAL_TLS=False, TEMPORAL_API_KEY=API_KEY)
    assert API_KEY not in str(caught.value)


def issued_serial(cert: Path) -> int:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert.read_bytes()).serial_number


@workflow.defn(sandboxed=False)
class Echo:
    @workflow.run
    async def run(self, text: str) -> str:
        return text


async def test_a_rotated_client_certificate_is_picked_up(
    mtls: Terminator, pki: Pki, tmp_path: Path
) -> None:
    """The worker keeps running across a rotation and its next connection shows the new cert."""
    ca = pki.file("ca.pem", pki.ca.cert_pem())
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = issue(pki.ca, "worker-2025", server=False)
    cert.write_bytes(first.cert_pem())
    key.write_bytes(first.key_pem())
    settings = settings_for(
        mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH=cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=key,
    )
    credentials = load_credentials(settings)
    client = await connect(settings, credentials=credentials, data_converter=DATA_CONVERTER)
    queue = f"tq-{uuid.uuid4()}"
    worker = Worker(client, task_queue=queue, workflows=[Echo])

    async def reconnect(fresh: Credentials) -> Client:
        return await connect(settings, credentials=fresh, data_converter=DATA_CONVERTER)

    def swap(new: Client) -> None:
        worker.client = new

    watcher = CredentialWatcher(settings, credentials, swap, reconnect)
    async with worker:
        before = await client.execute_workflow(
            Echo.run, "before", id=f"echo-{uuid.uuid4()}", task_queue=queue
        )
        assert not await watcher.check()  # nothing changed

        # Half-way through a rotation only the key is new: refused, the old client stays.
        second = issue(pki.ca, "worker-2026", server=False)
        key.write_bytes(second.key_pem())
        assert not await watcher.check()
        assert worker.client is client

        cert.write_bytes(second.cert_pem())
        assert await watcher.check()
        assert worker.client is not client
        assert second.cert.serial_number in mtls.client_serials
        after = await worker.client.execute_workflow(
            Echo.run, "after", id=f"echo-{uuid.uuid4()}", task_queue=queue
        )
    assert (before, after) == ("before", "after")


def test_check_temporal_command_says_what_is_wrong(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("STEPDOWN_DEV", "1")
    monkeypatch.setenv("TEMPORAL_ADDRESS", upstream(dev_env))
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "no-such-namespace")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["check-temporal"])
        assert result.exit_code == 1
        assert "namespace 'no-such-namespace' does not exist" in result.output
        monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
        get_settings.cache_clear()
        result = runner.invoke(app, ["check-temporal"])
        assert result.exit_code == 0, result.output
        assert "namespace default: ok (plaintext)" in result.output
    finally:
        get_settings.cache_clear()


async def test_the_api_switches_to_a_rotated_certificate(
    mtls: Terminator, pki: Pki, tmp_path: Path
) -> None:
    """production_deps (the API's wiring) watches the files and swaps its episode client."""
    import asyncio

    from api.deps import production_deps

    ca = pki.file("ca.pem", pki.ca.cert_pem())
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = issue(pki.ca, "api-2025", server=False)
    cert.write_bytes(first.cert_pem())
    key.write_bytes(first.key_pem())
    settings = settings_for(
        mtls.address,
        DATABASE_URL=f"sqlite:///{tmp_path}/api.db",
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH=cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH=key,
        STEPDOWN_TEMPORAL_TLS_RELOAD=0.05,
    )
    async with production_deps(settings) as deps:
        before = deps.episodes.client
        await deps.temporal_health()
        second = issue(pki.ca, "api-2026", server=False)
        key.write_bytes(second.key_pem())
        cert.write_bytes(second.cert_pem())
        async with asyncio.timeout(30):
            while deps.episodes.client is before:
                await asyncio.sleep(0.05)
        await deps.temporal_health()  # the new client dials with the new certificate
    assert second.cert.serial_number in mtls.client_serials


def test_the_worker_and_api_commands_name_a_bad_certificate_and_exit(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    past = datetime.now(UTC) - timedelta(days=2)
    cert, key = pki.client("stale", not_before=past, not_after=past + timedelta(days=1))
    monkeypatch.setenv("STEPDOWN_DEV", "1")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(key))
    for command in (["worker"], ["api"]):
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, command)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1, command
        assert "the client certificate CN=stale expired at" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("sdk_says", "expected"),
    [
        (
            "Failed client connect: `get_system_info` call error after connection: Status { "
            'code: Unauthenticated, message: "Request unauthorized." }',
            "refused these credentials",
        ),
        (
            "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
            'ConnectError(ConnectError("tcp connect error", Os { code: 111, kind: '
            'ConnectionRefused, message: "Connection refused" })))',
            "nothing listens there",
        ),
    ],
)
def test_other_refusals_are_named_and_the_api_key_is_never_quoted(
    sdk_says: str, expected: str
) -> None:
    """explain() on the SDK's own wording (these two cannot be provoked on the dev server)."""
    from workflows.connection import explain

    settings = settings_for("temporal.example:7233", TEMPORAL_API_KEY=API_KEY)
    message = explain(RuntimeError(f"{sdk_says} key={API_KEY}"), settings)
    assert expected in message
    assert API_KEY not in message and "<api key>" in message

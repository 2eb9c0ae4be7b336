"""The X12 payer gateway writes one conforming 278 per idempotency key to the mailbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from activities.ports import InvalidRequest, PayerRequest
from payers.formats.x12_request_read import parse_278_request
from payers.formats.x217 import check_278_request
from payers.mailbox import DirectoryMailbox, SftpMailbox, configured_mailbox
from payers.x12_gateway import X12Parties, X12PayerGateway, file_name, x12_gateway
from settings import Settings
from store.db import make_engine
from store.x12_ledger import SqlX12Ledger, X12Submission
from tests.support.db import sqlite_database
from tests.support.mailboxes import Box, box
from tests.support.procs import free_port
from tests.support.sftp import sftp_server

__all__ = ["box"]
PARTIES = X12Parties("STEPDOWN", "CLEARINGHOUSE", "Stepdown IOP", "1234567893", usage="T")


def x12_request(purpose: str = "initial", **payload: Any) -> PayerRequest:
    """A PayerRequest with the payload the workflow's effects runner sends."""
    episode = f"ep-{uuid.uuid4().hex[:8]}"
    trace = f"SD-{episode}-1"
    fields: dict[str, Any] = {
        "purpose": purpose,
        "units": 20,
        "requested": {
            "start": "2026-11-23",
            "units": 20,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "from_level": "2.5",
        "to_level": "2.1",
        "asam_edition": 3,
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "diagnoses": ["F10.20"],
        "urgency": "standard",
        "member_id": "MCD123456",
        "authorizations": [],
        "patient": {"name": "Jane Roe", "birth_date": "1990-04-01"},
        "setting": "cmhc",
    }
    return PayerRequest(
        episode_id=episode,
        trace_number=trace,
        purpose=purpose,  # type: ignore[arg-type]
        payer_id="acme-x12",
        idempotency_key=f"{episode}:{trace}:{purpose}",
        payload=fields | payload,
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqlX12Ledger]:
    with sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        yield SqlX12Ledger(engine)
        engine.dispose()


def outbound(box: Box) -> list[str]:
    folder = box.root / "outbound"
    return sorted(os.listdir(folder)) if folder.exists() else []


async def test_a_request_becomes_one_conforming_278_in_the_outbound_folder(box: Box, ledger):
    gateway = X12PayerGateway(box.mailbox, ledger, PARTIES)
    request = x12_request()

    receipt = await gateway.submit(request)

    name = file_name(request.idempotency_key)
    body = (box.root / "outbound" / name).read_bytes()
    assert (receipt.accepted, receipt.duplicate) == (True, False)
    assert check_278_request(body) == []
    read = parse_278_request(body)
    assert (read.trace_number, read.payer_id, read.purpose) == (
        request.trace_number,
        "acme-x12",
        "initial",
    )
    stored = ledger.submission(request.idempotency_key)
    assert stored.body == body and stored.written_at is not None
    assert int(read.interchange_control_number) == stored.control_number


async def test_the_same_key_again_is_a_duplicate_and_is_not_written_twice(box: Box, ledger):
    gateway = X12PayerGateway(box.mailbox, ledger, PARTIES)
    request = x12_request()
    await gateway.submit(request)
    # The clearinghouse took the file; a retry must not hand it a second copy.
    (box.root / "outbound" / file_name(request.idempotency_key)).unlink()

    again = await gateway.submit(request)

    assert (again.accepted, again.duplicate) == (True, True)
    assert outbound(box) == []


async def test_a_retry_after_a_crash_before_the_write_writes_the_reserved_bytes(box: Box, ledger):
    request = x12_request()
    reserved = ledger.reserve(
        X12Submission(
            idempotency_key=request.idempotency_key,
            file_name=file_name(request.idempotency_key),
            control_number=0,
            episode_id=request.episode_id,
            payer_id=request.payer_id,
            trace_number=request.trace_number,
            purpose="initial",
            body=b"",
            created_at=datetime(2026, 11, 23, tzinfo=UTC),
        ),
        lambda number: f"reserved {number}".encode(),
    )

    receipt = await X12PayerGateway(box.mailbox, ledger, PARTIES).submit(request)

    assert not receipt.duplicate
    written = (box.root / "outbound" / reserved.file_name).read_bytes()
    assert written == f"reserved {reserved.control_number}".encode()


async def test_each_request_gets_its_own_file_and_control_number(box: Box, ledger):
    gateway = X12PayerGateway(box.mailbox, ledger, PARTIES)
    first, second = x12_request(), x12_request("extension", authorizations=[
        {"number": "AUTH-1", "level": "2.1", "start": "2026-11-23", "end": "2026-12-12",
         "units": 20, "unit_type": "days", "service_codes": ["S9480"]},
    ])  # fmt: skip

    await gateway.submit(first)
    await gateway.submit(second)

    files = outbound(box)
    assert len(files) == 2
    numbers = {
        parse_278_request((box.root / "outbound" / f).read_bytes()).interchange_control_number
        for f in files
    }
    assert len(numbers) == 2
    extension = parse_278_request(ledger.submission(second.idempotency_key).body)
    assert (extension.purpose, extension.authorization_number) == ("extension", "AUTH-1")
    assert str(extension.start) == "2026-12-13"


@pytest.mark.parametrize(
    "payload",
    [
        {"member_id": None},
        {"requested": {"start": "soon"}},
        {"diagnoses": []},
        {"member_id": "M*1"},
    ],
    ids=["no member id", "bad start", "no diagnosis", "delimiter in member id"],
)
async def test_a_payload_that_cannot_make_a_278_is_invalid_and_writes_nothing(
    box: Box, ledger, payload: dict[str, Any]
):
    gateway = X12PayerGateway(box.mailbox, ledger, PARTIES)
    request = x12_request(**payload)

    with pytest.raises(InvalidRequest):
        await gateway.submit(request)

    assert outbound(box) == []
    assert ledger.submission(request.idempotency_key) is None


async def test_a_peer_to_peer_request_writes_no_278(box: Box, ledger):
    receipt = await X12PayerGateway(box.mailbox, ledger, PARTIES).submit(x12_request("p2p"))

    assert not receipt.accepted
    assert outbound(box) == []


def test_the_x12_channel_is_built_from_settings_and_refuses_without_a_requester(tmp_path: Path):

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    dev = x12_gateway(Settings(STEPDOWN_DEV=True, STEPDOWN_MAILBOX_DIR=str(tmp_path)), engine)

    assert isinstance(dev._mailbox, DirectoryMailbox) and dev._mailbox.root == tmp_path
    assert dev._parties.usage == "T" and dev._parties.requester_npi == "1234567893"
    with pytest.raises(ValueError, match="STEPDOWN_PROVIDER_NPI"):
        x12_gateway(Settings(), engine)
    with pytest.raises(ValueError, match="STEPDOWN_PROVIDER_NPI"):
        x12_gateway(
            Settings(STEPDOWN_PROVIDER_NAME="X", STEPDOWN_PROVIDER_NPI="1234567890"), engine
        )
    engine.dispose()


def test_an_sftp_mailbox_needs_user_key_and_known_hosts(tmp_path: Path):

    with pytest.raises(ValidationError, match="STEPDOWN_MAILBOX_SFTP_KNOWN_HOSTS"):
        Settings(STEPDOWN_MAILBOX_SFTP_HOST="sftp.example", STEPDOWN_MAILBOX_SFTP_USER="u",
                 STEPDOWN_MAILBOX_SFTP_KEY_FILE=str(tmp_path / "k"))  # fmt: skip
    complete = Settings(
        STEPDOWN_MAILBOX_SFTP_HOST="sftp.example",
        STEPDOWN_MAILBOX_SFTP_USER="u",
        STEPDOWN_MAILBOX_SFTP_KEY_FILE=str(tmp_path / "k"),
        STEPDOWN_MAILBOX_SFTP_KNOWN_HOSTS=str(tmp_path / "known_hosts"),
        STEPDOWN_MAILBOX_SFTP_ROOT="/mailboxes/stepdown",
    )
    mailbox = configured_mailbox(complete)
    assert isinstance(mailbox, SftpMailbox)
    assert (mailbox.endpoint.host, mailbox.endpoint.root) == ("sftp.example", "/mailboxes/stepdown")


async def test_an_unreachable_sftp_server_fails_the_attempt_and_the_retry_writes_it(
    tmp_path: Path, ledger
):
    async with sftp_server(tmp_path) as server:
        request = x12_request()
        closed = replace(server.endpoint, port=free_port(), connect_timeout=2)

        with pytest.raises(OSError):
            await X12PayerGateway(SftpMailbox(closed), ledger, PARTIES).submit(request)
        reserved = ledger.submission(request.idempotency_key)
        assert reserved is not None and reserved.written_at is None

        retry = await X12PayerGateway(SftpMailbox(server.endpoint), ledger, PARTIES).submit(request)

        assert (retry.accepted, retry.duplicate) == (True, False)
        written = server.root / "outbound" / reserved.file_name
        assert written.read_bytes() == reserved.body

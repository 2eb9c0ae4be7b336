"""The simulator's clearinghouse answers each file of ours as a clearinghouse and payer would."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

from payers.clearinghouse import ClearinghousePeer
from payers.formats import parse_decision
from payers.formats.x12_ack import parse_acknowledgement
from payers.formats.x12_request import build_278_request
from payers.formats.x12_write import Envelope, interchange, transaction_header
from payers.mailbox import DirectoryMailbox, MailboxLayout
from payers.simulator import clearinghouse_peer, create_app
from settings import Settings
from tests.payers.test_x12_request import envelope, request
from tests.support.simulator_config import config


def peer(root: Path, decide=None) -> tuple[ClearinghousePeer, DirectoryMailbox]:
    layout = MailboxLayout()
    ours = DirectoryMailbox(root, layout)
    theirs = DirectoryMailbox(root, layout.peer())
    return (ClearinghousePeer(theirs, decide) if decide else ClearinghousePeer(theirs)), ours


def claims_batch(control_number: int, se_count: str | None = None) -> bytes:
    """An 837I-shaped interchange: only its envelope matters to the 999 here."""
    body = [transaction_header("837", 1, "005010X223A2"), ["BHT", "0019", "00", "B1"]]
    stamp = Envelope("STEPDOWN", "CLEARINGHOUSE", control_number,
                     datetime(2026, 11, 30, tzinfo=UTC), "HC", "005010X223A2")  # fmt: skip
    text = interchange(stamp, [body])
    return text.replace(b"SE*3*", f"SE*{se_count}*".encode()) if se_count else text


async def test_an_extension_is_answered_with_a_999_and_the_extended_authorization(tmp_path: Path):
    clearinghouse, ours = peer(tmp_path)
    extension = request(purpose="extension", authorization_number="AUTH-7")
    await ours.put("278.x12", build_278_request(extension, envelope(77)))

    await clearinghouse.run_once()

    assert sorted(await ours.list_inbound()) == ["278R-000000077.x12", "999-77.x12"]
    ack = parse_acknowledgement(await ours.read("999-77.x12"))
    assert (ack.code, ack.functional_id, ack.control_number) == ("A", "HI", 77)
    decision = parse_decision("application/edi-x12", await ours.read("278R-000000077.x12"))
    assert (decision.trace_number, decision.action) == ("TRC-0001", "A1")
    assert (decision.authorization_number, decision.start) == ("AUTH-7", date(2026, 11, 23))
    assert decision.units == 20 and "S9480" in decision.service_codes
    assert clearinghouse.answered == ["278.x12"] and await clearinghouse.run_once() == 0


async def test_a_silent_payer_leaves_only_the_999(tmp_path: Path):
    clearinghouse, ours = peer(tmp_path, decide=lambda _: "none")
    await ours.put("278.x12", build_278_request(request(), envelope(5)))

    await clearinghouse.run_once()

    assert await ours.list_inbound() == ["999-5.x12"]


async def test_a_claims_batch_gets_a_999_on_its_envelope(tmp_path: Path):
    clearinghouse, ours = peer(tmp_path)
    await ours.put("837-good.x12", claims_batch(900))
    await ours.put("837-bad.x12", claims_batch(901, se_count="9"))

    await clearinghouse.run_once()

    good = parse_acknowledgement(await ours.read("999-900.x12"))
    bad = parse_acknowledgement(await ours.read("999-901.x12"))
    assert (good.code, good.functional_id, good.transactions[0].transaction_set) == (
        "A",
        "HC",
        "837",
    )
    assert bad.code == "R" and bad.transactions[0].errors[0].segment_id == "SE"


async def test_a_file_that_is_not_x12_is_taken_without_an_answer(tmp_path: Path):
    clearinghouse, ours = peer(tmp_path)
    await ours.put("notes.txt", b"hello")

    assert await clearinghouse.run_once() == 1
    assert await ours.list_inbound() == []


async def test_the_dev_simulator_is_the_clearinghouse_on_the_settings_mailbox(tmp_path: Path):
    settings = Settings(
        STEPDOWN_DEV=True,
        STEPDOWN_MAILBOX_DIR=str(tmp_path),
        STEPDOWN_MAILBOX_POLL_INTERVAL=0.05,
        STEPDOWN_SIM_MIX={"A1": 1.0},
    )
    ours = DirectoryMailbox(tmp_path)
    await ours.put("278.x12", build_278_request(request(), envelope(12)))
    app = create_app(settings)

    async with app.router.lifespan_context(app):
        for _ in range(200):
            if len(await ours.list_inbound()) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(await ours.list_inbound()) == ["278R-000000012.x12", "999-12.x12"]


def test_the_clearinghouse_is_off_when_polling_is_off():
    assert clearinghouse_peer(Settings(STEPDOWN_MAILBOX_POLL_INTERVAL=0), config()) is None

"""999 acknowledgements of 837I batches, through the clearinghouse mailbox: the AK1 group
control number (our GS06) finds the batch in claim_batches, which is accepted or rejected
with every claim in it; a rejection becomes each claim's `claim_delivery_failed` (the
worklist item ops retry), once. Over SQLite and PostgreSQL (the api_engine fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest_asyncio

from activities.claims_outbox import SqlClaimsOutbox
from activities.ports import OutboundClaim
from api.mailbox_poller import MailboxPoller, delivery_id
from payers.clearinghouse import ClearinghousePeer
from payers.formats.x12_ack import Acknowledgement, build_999
from payers.formats.x12_write import Envelope
from payers.mailbox import DirectoryMailbox
from store.phi import cipher_from_settings
from store.sql_claims import SqlClaimBatches
from store.x12_ledger import SqlX12Ledger
from tests.api.test_claims_outbox import Billing, billing, queued, released_claim
from tests.support.api_client import Api
from tests.support.polling import eventually

__all__ = ["billing"]


@dataclasses.dataclass
class Acks:
    api: Api
    files: Path
    inbound: Path
    poller: MailboxPoller
    ledger: SqlX12Ledger

    async def sent_batch(self) -> tuple[str, str, dict[str, Any]]:
        episode_id, claim_id = await released_claim(self.api)
        await queued(self.api, episode_id)
        response = await self.api.call("POST", "/claims/batches", "billing")
        assert response.status_code == 201, response.text
        return episode_id, claim_id, response.json()

    def answer(self, batch: dict[str, Any], *, broken: bool = False) -> bytes:
        """The clearinghouse's 999 for the batch file as we wrote it (or with a wrong SE
        count, which it rejects)."""
        body = (self.files / batch["file_name"]).read_bytes()
        if broken:
            body = re.sub(rb"(~\s*)SE\*", rb"\1SE*9", body, count=1)
        [(_, ack)] = ClearinghousePeer(DirectoryMailbox(self.files)).answer(body)
        return ack

    async def take(self, name: str, body: bytes) -> None:
        self.inbound.mkdir(parents=True, exist_ok=True)
        (self.inbound / name).write_bytes(body)
        await self.poller.run_once()

    async def batch(self, batch_id: str) -> dict[str, Any]:
        shown = await self.api.call("GET", f"/claims/batches/{batch_id}", "ops")
        assert shown.status_code == 200, shown.text
        body: dict[str, Any] = shown.json()
        return body

    async def failures(self, episode_id: str) -> list[dict[str, Any]]:
        events = await self.api.call("GET", f"/episodes/{episode_id}/events", "ops")
        return [e for e in events.json() if e["type"] == "claim_delivery_failed"]


@pytest_asyncio.fixture(loop_scope="session")
async def acks(billing: Billing, tmp_path: Path) -> AsyncIterator[Acks]:
    mailbox = DirectoryMailbox(tmp_path / "mailbox")
    ledger = SqlX12Ledger(billing.api.stack.engine)
    deps = dataclasses.replace(billing.api.deps, x12_ledger=ledger)
    api = Api(billing.api.http, dataclasses.replace(billing.api.stack, deps=deps))
    poller = MailboxPoller(deps, mailbox, ledger, timeout=15)
    yield Acks(api, billing.mailbox, tmp_path / "mailbox" / "inbound", poller, ledger)


async def test_an_accepting_999_accepts_the_batch_it_names_and_its_claims(acks: Acks) -> None:
    episode_id, claim_id, batch = await acks.sent_batch()
    ack = acks.answer(batch)
    assert f"AK1*HC*{batch['group_control']}*".encode() in ack

    await acks.take("999-accept.x12", ack)

    shown = await acks.batch(batch["batch_id"])
    assert (shown["status"], shown["error"]) == ("accepted", None)
    # The batch holds every claim queued in the shared database; all of them are accepted.
    assert claim_id in [c["claim_id"] for c in shown["claims"]]
    assert {c["status"] for c in shown["claims"]} == {"accepted"}
    entry = await asyncio.to_thread(acks.api.deps.inbox.get, delivery_id(ack))
    assert entry is not None and (entry.status, entry.last_error) == ("applied", None)
    assert await acks.poller.report_rejections() == 0
    assert await acks.failures(episode_id) == []


async def test_a_rejecting_999_rejects_the_batch_and_fails_each_claim_once(acks: Acks) -> None:
    episode_id, claim_id, batch = await acks.sent_batch()
    ack = acks.answer(batch, broken=True)
    assert b"AK9*R*" in ack

    await acks.take("999-reject.x12", ack)
    shown = await acks.batch(batch["batch_id"])
    assert shown["status"] == "rejected" and "999 rejected" in shown["error"]
    assert {c["status"] for c in shown["claims"]} == {"rejected"}

    assert await acks.poller.report_rejections() >= 1

    async def failed() -> list[dict[str, Any]]:
        return await acks.failures(episode_id)

    [failure] = await eventually(failed)
    assert failure["data"]["key"] == claim_id
    assert f"rejected 837I batch {batch['batch_id']}" in failure["data"]["reason"]
    # The same file again is the same delivery; a second report round tells nobody twice.
    await acks.take("999-reject-again.x12", ack)
    await acks.poller.report_rejections()
    assert len(await acks.failures(episode_id)) == 1

    # Ops see it on the worklist, the same item as any claim delivery failure.
    async def listed() -> list[dict[str, Any]]:
        params = {"kind": "deliver_claim_failed"}
        items = (await acks.api.call("GET", "/worklist", "ops", params=params)).json()
        return [i for i in items if i["episode_id"] == episode_id]

    [item] = await eventually(listed)
    assert claim_id in item["detail"] and "batch" in item["detail"]
    retried = await acks.api.call("POST", f"/episodes/{episode_id}/failures/retry", "ops", json={})
    assert retried.status_code == 200, retried.text


async def test_an_acceptance_after_the_rejection_changes_nothing(acks: Acks) -> None:
    _, _, batch = await acks.sent_batch()
    await acks.take("999-r.x12", acks.answer(batch, broken=True))
    late = acks.answer(batch)

    await acks.take("999-a.x12", late)

    assert (await acks.batch(batch["batch_id"]))["status"] == "rejected"
    entry = await asyncio.to_thread(acks.api.deps.inbox.get, delivery_id(late))
    assert entry is not None and "only a sent batch" in (entry.last_error or "")


async def test_a_999_for_a_group_we_never_sent_touches_no_batch(acks: Acks) -> None:
    _, _, batch = await acks.sent_batch()
    stranger = Acknowledgement(kind="999", control_number=987654321, functional_id="HC", code="R")
    envelope = Envelope(sender_id="CLEARINGHOUSE", receiver_id="STEPDOWN", control_number=5,
                        created_at=batch_created(batch), functional_id="FA",
                        version="005010X231A1")  # fmt: skip
    body = build_999(envelope, stranger, ("837", "005010X223A2"))

    await acks.take("999-stranger.x12", body)

    assert (await acks.batch(batch["batch_id"]))["status"] == "sent"
    assert await acks.poller.report_rejections() >= 0
    entry = await asyncio.to_thread(acks.api.deps.inbox.get, delivery_id(body))
    assert entry is not None and entry.status == "applied"


def batch_created(batch: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(batch["created_at"])


async def test_a_retried_claim_of_a_rejected_batch_is_queued_again(acks: Acks) -> None:
    episode_id, claim_id, batch = await acks.sent_batch()
    await acks.take("999-retry.x12", acks.answer(batch, broken=True))
    # The stack's worker seals the episode's PHI with the stack's payload keys.
    cipher = cipher_from_settings(acks.api.stack.settings)
    outbox = SqlClaimsOutbox(SqlClaimBatches(acks.api.stack.engine, cipher=cipher))
    shown = await acks.batch(batch["batch_id"])
    [claim] = [c for c in shown["claims"] if c["claim_id"] == claim_id]

    await outbox.deliver(OutboundClaim(episode_id=episode_id, claim_id=claim_id,
                                       claim=claim["claim"], resend=True))  # fmt: skip

    again = await acks.api.call("GET", "/claims/outbox", "ops", params={"episode_id": episode_id})
    [entry] = again.json()["claims"]
    assert (entry["status"], entry["batch_id"], entry["error"]) == ("queued", None, None)
    # A plain redelivery (no retry) never moves a claim back.
    await outbox.deliver(OutboundClaim(episode_id=episode_id, claim_id=claim_id,
                                       claim=claim["claim"]))  # fmt: skip
    [still] = (await acks.api.call("GET", "/claims/outbox", "ops",
                                   params={"episode_id": episode_id})).json()["claims"]  # fmt: skip
    assert still["status"] == "queued"

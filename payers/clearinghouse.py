"""The simulator's clearinghouse: the other side of the mailbox, answering what we put there.

A 278 request is checked against the X217 layout: a broken interchange gets a TA1
rejection, a broken transaction a 999 rejection naming each error, a good one a 999
acceptance and then the payer's 278 response (the simulator's mix decides which). Any
other transaction set (an 837I batch) gets a 999 on its envelope counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from activities.ports import PayerRequest
from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import element, read_delimiters, split_segments
from payers.formats.x12_ack import AckError, Acknowledgement, TransactionAck, build_999, build_ta1
from payers.formats.x12_render import x12_body
from payers.formats.x12_request_read import Received278, parse_278_request
from payers.formats.x12_write import Envelope
from payers.formats.x217 import LayoutError, check_278_request, check_transaction
from payers.mailbox import Mailbox

log = logging.getLogger("stepdown.simulator.clearinghouse")
Decide = Callable[[PayerRequest], str]


def approve(_: PayerRequest) -> str:
    return "A1"


class ClearinghousePeer:
    """Reads our outbound folder (its inbound) and writes into our inbound folder."""

    def __init__(
        self, mailbox: Mailbox, decide: Decide = approve, sender_id: str = "CLEARINGHOUSE"
    ):
        self._mailbox = mailbox
        self._decide = decide
        self._sender_id = sender_id
        # Its own interchange numbers: unique within a run, distinct across restarts.
        self._numbers = itertools.count(int(time.time()) % 900_000_000 + 1)
        self.answered: list[str] = []

    async def run_once(self) -> int:
        taken = 0
        for name in await self._mailbox.list_inbound():
            try:
                body = await self._mailbox.read(name)
            except FileNotFoundError:
                continue
            try:
                for reply_name, reply in self.answer(body):
                    await self._mailbox.put(reply_name, reply)
            except Exception:  # one unreadable file must not stop the mailbox
                log.exception("the clearinghouse could not answer %s", name)
            await self._mailbox.archive(name)
            self.answered.append(name)
            taken += 1
        return taken

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("clearinghouse round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def answer(self, body: bytes) -> list[tuple[str, bytes]]:
        """The files the clearinghouse writes back for one file of ours."""
        try:
            text = body.decode("ascii")
            segments = split_segments(text, read_delimiters(text))
        except (UnicodeDecodeError, UnparseableDecision):
            return []  # not X12 at all: nothing to acknowledge it with
        isa, iea = segments[0], segments[-1]
        control = element(isa, 13)
        if isa[0] != "ISA" or iea[0] != "IEA" or not control.isdigit():
            return []
        receiver = element(isa, 6).strip()
        if element(iea, 2) != control:
            ta1 = build_ta1(self._envelope(receiver, "FA"), int(control), "R", "001")
            return [(f"TA1-{control}.x12", ta1)]
        group = next((s for s in segments if s[0] == "GS"), [])
        if element(group, 1) == "HI":
            header = next((s for s in segments if s[0] == "ST"), [])
            return self._answer_278(body, receiver, group, element(header, 2))
        return [self._acknowledge(receiver, group, _other_sets(segments, read_delimiters(text)))]

    def _answer_278(
        self, body: bytes, receiver: str, group: list[str], transaction: str
    ) -> list[tuple[str, bytes]]:
        verdict = _verdict(transaction, check_278_request(body))
        replies = [self._acknowledge(receiver, group, [verdict])]
        if verdict.code != "A":
            return replies
        received = parse_278_request(body)
        request = payer_request(received)
        action = self._decide(request)
        if action != "none":
            # Imported here: the simulator module starts this peer, and owns the payer rules.
            from payers.simulator import build_decision

            decision = build_decision(request, action, datetime.now(UTC))
            replies.append((f"278R-{received.interchange_control_number}.x12", x12_body(decision)))
        return replies

    def _acknowledge(
        self, receiver: str, group: list[str], verdicts: list[TransactionAck]
    ) -> tuple[str, bytes]:
        accepted = sum(v.code == "A" for v in verdicts)
        code = "A" if accepted == len(verdicts) else ("R" if accepted == 0 else "P")
        answered = Acknowledgement(
            kind="999",
            control_number=int(element(group, 6) or 0),
            functional_id=element(group, 1),
            code=code,
            transactions=tuple(verdicts),
        )
        set_id = verdicts[0].transaction_set if verdicts else "278"
        body = build_999(self._envelope(receiver, "FA"), answered, (set_id, element(group, 8)))
        return f"999-{element(group, 6)}.x12", body

    def _envelope(self, receiver: str, functional_id: str) -> Envelope:
        return Envelope(
            sender_id=self._sender_id,
            receiver_id=receiver or "STEPDOWN",
            control_number=next(self._numbers),
            created_at=datetime.now(UTC),
            functional_id=functional_id,
            version="005010X231A1",
        )


def _verdict(control_number: str, problems: list[LayoutError]) -> TransactionAck:
    errors = tuple(
        AckError(
            code=p.element_code or p.code if p.element else p.code,
            description=p.message,
            segment_id=p.segment_id,
            position=p.position or None,
            loop=p.loop or None,
            element=p.element,
        )
        for p in problems
    )
    return TransactionAck(
        transaction_set="278",
        control_number=control_number,
        code="R" if errors else "A",
        errors=errors,
    )


def _other_sets(segments: list[list[str]], delimiters: Any) -> list[TransactionAck]:
    """999 verdicts for non-278 sets (837I): the SE count and control number must hold."""
    verdicts = []
    start = None
    for index, segment in enumerate(segments):
        if segment[0] == "ST":
            start = index
        elif segment[0] == "SE" and start is not None:
            transaction = segments[start : index + 1]
            problems = [
                p
                for p in check_transaction(transaction, delimiters.component)
                if p.segment_id == "SE"
            ]
            verdict = _verdict(element(transaction[0], 2), problems)
            verdicts.append(
                verdict.model_copy(update={"transaction_set": element(transaction[0], 1)})
            )
            start = None
    return verdicts


def payer_request(received: Received278) -> PayerRequest:
    """The simulator's view of a 278: the PayerRequest its payer rules decide on."""
    authorizations: list[dict[str, Any]] = []
    if received.purpose == "extension" and received.authorization_number and received.start:
        # The simulator extends from the day after the latest authorization ends.
        previous_end = received.start - timedelta(days=1)
        authorizations = [
            {"number": received.authorization_number, "end": previous_end.isoformat()}
        ]
    start: date | None = received.start
    return PayerRequest(
        episode_id="",
        trace_number=received.trace_number,
        purpose=received.purpose,
        payer_id=received.payer_id,
        idempotency_key=f"x12:{received.interchange_control_number}:{received.trace_number}",
        payload={
            "units": received.units,
            "requested": {
                "start": start.isoformat() if start else None,
                "units": received.units,
                "unit_type": received.unit_type,
                "service_codes": list(received.service_codes),
            },
            "authorizations": authorizations,
        },
    )

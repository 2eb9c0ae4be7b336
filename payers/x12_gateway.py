"""The X12 channel's payer gateway: a 278 request written to the clearinghouse mailbox.

The payer answers later with a 278 response in the mailbox's inbound folder, which the
mailbox poller puts in the webhook inbox; the clearinghouse acknowledges the file with a
999 (and a TA1 when the interchange itself is broken).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from activities.ports import InvalidRequest, PayerReceipt, PayerRequest
from domain.codes import TYPE_OF_BILL_PREFIX, npi_is_valid
from payers.formats.attendance_evidence import x12_note
from payers.formats.x12_request import (
    LevelOfCare,
    Party,
    Request278,
    Subscriber,
    build_278_request,
)
from payers.formats.x12_write import Envelope, UnsendableValue
from payers.mailbox import Mailbox, configured_mailbox
from settings import Settings
from store.phi import cipher_from_settings
from store.x12_ledger import SqlX12Ledger, X12Ledger, X12Submission

log = logging.getLogger("stepdown.payers.x12")
# Our choice where the request names no end: four weeks, the usual span of an IOP
# authorization; a request in days asks for exactly that many days.
DEFAULT_SPAN = timedelta(days=28)


@dataclass(frozen=True)
class X12Parties:
    """Who we are on the X12 envelope and in loop 2010B; from settings."""

    sender_id: str  # ISA06 / GS02: our id at the clearinghouse
    receiver_id: str  # ISA08 / GS03: the clearinghouse's id
    requester_name: str
    requester_npi: str
    usage: str = "P"  # ISA15: P production, T test


def file_name(idempotency_key: str) -> str:
    """The same key always gives the same file name, which holds no PHI."""
    return f"278-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}.x12"


def utc_now() -> datetime:
    return datetime.now(UTC)


class X12PayerGateway:
    """Implements activities.ports.PayerGateway for payers on the `x12` channel."""

    def __init__(
        self,
        mailbox: Mailbox,
        ledger: X12Ledger,
        parties: X12Parties,
        *,
        payer_name: Callable[[str], str] = str.upper,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._mailbox = mailbox
        self._ledger = ledger
        self._parties = parties
        self._payer_name = payer_name
        self._clock = clock

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        if request.purpose == "p2p":
            # X12 has no peer-to-peer transaction: the call is booked by phone and ops
            # records it (POST /episodes/{id}/p2p). Nothing is written; nothing is accepted.
            log.info("no 278 for a peer-to-peer request of payer %s", request.payer_id)
            return PayerReceipt(trace_number=request.trace_number, accepted=False)
        key = request.idempotency_key
        found = await asyncio.to_thread(self._ledger.submission, key)
        if found is not None and found.written_at is not None:
            return PayerReceipt(trace_number=request.trace_number, accepted=True, duplicate=True)
        submission = found or await self._reserve(request)
        # Rewriting after a crash puts the very same bytes under the very same name.
        await self._mailbox.put(submission.file_name, submission.body)
        await asyncio.to_thread(self._ledger.mark_written, key, self._clock())
        return PayerReceipt(trace_number=request.trace_number, accepted=True)

    async def _reserve(self, request: PayerRequest) -> X12Submission:
        document = request_278(request, self._parties, self._payer_name(request.payer_id))
        created = self._clock()

        def build(control_number: int) -> bytes:
            envelope = Envelope(
                sender_id=self._parties.sender_id,
                receiver_id=self._parties.receiver_id,
                control_number=control_number,
                created_at=created,
                functional_id="HI",
                version="005010X217",
                usage=self._parties.usage,
            )
            return build_278_request(document, envelope)

        pending = X12Submission(
            idempotency_key=request.idempotency_key,
            file_name=file_name(request.idempotency_key),
            control_number=0,
            episode_id=request.episode_id,
            payer_id=request.payer_id,
            trace_number=request.trace_number,
            purpose=request.purpose,
            body=b"",
            created_at=created,
        )
        try:
            return await asyncio.to_thread(self._ledger.reserve, pending, build)
        except UnsendableValue as err:
            raise InvalidRequest(f"the 278 request cannot be written: {err}") from err


def request_278(request: PayerRequest, parties: X12Parties, payer_name: str) -> Request278:
    """The 278 a PayerRequest asks for; InvalidRequest when its payload cannot make one."""
    payload = request.payload
    try:
        return Request278(
            trace_number=request.trace_number,
            purpose=request.purpose,
            payer=Party(name=payer_name, id=request.payer_id),
            requester=Party(name=parties.requester_name, id=parties.requester_npi),
            subscriber=_subscriber(payload),
            diagnoses=tuple(payload.get("diagnoses") or ()),
            level_of_care=LevelOfCare(
                asam_edition=payload.get("asam_edition", 3),
                from_level=payload.get("from_level", ""),
                to_level=payload.get("to_level", ""),
                dimensions=payload.get("dimensions") or {},
            ),
            urgency=payload.get("urgency", "standard"),
            attendance_note=x12_note(payload.get("attendance_summary")),
            facility_type=TYPE_OF_BILL_PREFIX.get(payload.get("setting", ""), "013")[1:],
            **_requested(request.purpose, payload),
        )
    except (ValidationError, KeyError, ValueError, TypeError) as err:
        raise InvalidRequest(f"the payer request cannot become a 278: {err}") from err


def _subscriber(payload: dict[str, Any]) -> Subscriber:
    patient = payload.get("patient") or {}
    name = str(patient.get("name", "")).strip()
    last, first = _split_name(name)
    birth = patient.get("birth_date")
    return Subscriber(
        last_name=last,
        first_name=first,
        member_id=payload["member_id"],
        birth_date=date.fromisoformat(birth) if birth else None,
    )


def _split_name(name: str) -> tuple[str, str]:
    """'Roe, Jane' or 'Jane Roe' → ('Roe', 'Jane'); one word is a last name."""
    if "," in name:
        last, _, given = name.partition(",")
        return last.strip(), given.strip()
    *given_names, last = name.split() or [""]
    return last, " ".join(given_names)


def _requested(purpose: str, payload: dict[str, Any]) -> dict[str, Any]:
    requested = payload["requested"]
    units = payload.get("units") or requested["units"]
    start = date.fromisoformat(requested["start"])
    number = None
    current = payload.get("authorizations") or []
    if purpose == "extension" and current:
        # An extension continues the latest authorization the day after it ends (REF*BB).
        latest = max(current, key=lambda a: a["end"])
        start, number = date.fromisoformat(latest["end"]) + timedelta(days=1), latest["number"]
    unit_type = requested["unit_type"]
    span = timedelta(days=units) if unit_type == "days" else DEFAULT_SPAN
    return {
        "start": start,
        "end": start + span - timedelta(days=1),
        "units": units,
        "unit_type": unit_type,
        "service_codes": tuple(requested["service_codes"]),
        "authorization_number": number,
    }


def x12_parties(settings: Settings) -> X12Parties:
    """Our identity on the 278; refuses to build without a valid requester NPI."""
    npi, name = settings.provider_npi, settings.provider_name
    if not npi or not name or not npi_is_valid(npi):
        raise ValueError(
            "the X12 channel needs STEPDOWN_PROVIDER_NAME and STEPDOWN_PROVIDER_NPI "
            "(a 10-digit NPI with a valid check digit) for loop 2010B of the 278"
        )
    return X12Parties(
        sender_id=settings.x12_sender_id,
        receiver_id=settings.x12_receiver_id,
        requester_name=name,
        requester_npi=npi,
        usage=settings.x12_usage,
    )


def x12_gateway(settings: Settings, engine: Engine) -> X12PayerGateway:
    """The worker's X12 channel: the settings' mailbox, the ledger in DATABASE_URL."""
    parties = x12_parties(settings)
    ledger = SqlX12Ledger(engine, cipher_from_settings(settings))
    return X12PayerGateway(configured_mailbox(settings), ledger, parties)

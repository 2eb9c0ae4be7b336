"""Read a 278 request (005010X217) back: what the clearinghouse peer and the tests need of it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.model import UnitType
from payers.formats.common import QUANTITY_QUALIFIERS
from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import Segment, element, read_delimiters, split_segments
from payers.formats.x12_request import CERTIFICATION_TYPE

Purpose = Literal["initial", "extension", "reversal"]
PURPOSES: dict[str, Purpose] = {"I": "initial", "4": "extension", "S": "reversal"}
assert set(PURPOSES) == set(CERTIFICATION_TYPE.values())


class Received278(BaseModel):
    """The parts of a 278 request a payer answers from, and the envelope it came in."""

    model_config = ConfigDict(frozen=True)

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    group_control_number: str
    transaction_control_number: str
    trace_number: str
    payer_id: str
    purpose: Purpose
    start: date | None = None
    end: date | None = None
    units: int | None = None
    unit_type: UnitType | None = None
    service_codes: tuple[str, ...] = ()
    authorization_number: str | None = None


def parse_278_request(body: bytes) -> Received278:
    """Raises UnparseableDecision when `body` is not one readable 278 request."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise UnparseableDecision("a 278 request is ASCII text") from None
    delimiters = read_delimiters(text)
    segments = split_segments(text, delimiters)
    first: dict[str, Segment] = {}
    for segment in segments:
        first.setdefault(segment[0], segment)
    if "ST" not in first or element(first["ST"], 1) != "278":
        raise UnparseableDecision("the interchange holds no 278 transaction set")
    if element(first.get("BHT", []), 2) != "13":
        raise UnparseableDecision("BHT02 is not 13: this is not a 278 request")
    start, end = _period(segments)
    units, unit_type = _quantity(first.get("HSD", []))
    return Received278(
        sender_id=element(first["ISA"], 6).strip(),
        receiver_id=element(first["ISA"], 8).strip(),
        interchange_control_number=element(first["ISA"], 13),
        group_control_number=element(first.get("GS", []), 6),
        transaction_control_number=element(first["ST"], 2),
        trace_number=_required(first.get("TRN", []), 2, "TRN02 (trace number)"),
        payer_id=_payer(segments),
        purpose=PURPOSES.get(element(first.get("UM", []), 2), "initial"),
        start=start,
        end=end,
        units=units,
        unit_type=unit_type,
        service_codes=_codes(segments, delimiters.component),
        authorization_number=_reference(segments, "BB"),
    )


def _required(segment: Segment, index: int, name: str) -> str:
    value = element(segment, index) if segment else ""
    if not value:
        raise UnparseableDecision(f"the 278 request has no {name}")
    return value


def _payer(segments: list[Segment]) -> str:
    umo = next((s for s in segments if s[0] == "NM1" and element(s, 1) == "X3"), [])
    return _required(umo, 9, "NM109 of the UMO (payer id)")


def _reference(segments: list[Segment], qualifier: str) -> str | None:
    found = (element(s, 2) for s in segments if s[0] == "REF" and element(s, 1) == qualifier)
    return next(found, None)


def _period(segments: list[Segment]) -> tuple[date | None, date | None]:
    for segment in segments:
        if segment[0] == "DTP" and element(segment, 1) in ("AAH", "472"):
            parts = element(segment, 3).split("-")
            try:
                days = [date(int(p[:4]), int(p[4:6]), int(p[6:8])) for p in parts]
            except ValueError:
                raise UnparseableDecision(f"DTP03 {element(segment, 3)!r} is no date") from None
            return days[0], days[-1]
    return None, None


def _quantity(hsd: Segment) -> tuple[int | None, UnitType | None]:
    quantity = element(hsd, 2) if hsd else ""
    if not quantity.isdigit():
        return None, None
    return int(quantity), QUANTITY_QUALIFIERS.get(element(hsd, 1))


def _codes(segments: list[Segment], component: str) -> tuple[str, ...]:
    found = []
    for segment in segments:
        if segment[0] == "SV2":
            found += [element(segment, 1), element(segment, 2).partition(component)[2]]
        elif segment[0] == "SV1":
            found.append(element(segment, 1).partition(component)[2])
    return tuple(dict.fromkeys(code for code in found if code))

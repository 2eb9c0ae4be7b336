"""Render a PayerDecision as an X12 278 response (005010X217), for simulators and tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.model import PayerDecision
from payers.formats.common import QUALIFIER_FOR_UNIT, is_revenue_code

DELIMITERS = ("*", ":", "~", "^")
SENDER, RECEIVER = "STEPDOWNPAYER", "STEPDOWN"
TRACE_ORIGINATOR = "9STEPDOWN0"


def x12_body(decision: PayerDecision) -> bytes:
    """One interchange holding one 278 response; raises ValueError for unsendable values."""
    _refuse_delimiters(decision)
    body = _transaction(decision)
    segments = [
        _isa(decision.decided_at),
        ["GS", "HI", SENDER, RECEIVER, *_stamp(decision.decided_at), "1", "X", "005010X217"],
        ["ST", "278", "0001", "005010X217"],
        *body,
        ["SE", str(len(body) + 2), "0001"],
        ["GE", "1", "1"],
        ["IEA", "1", "000000001"],
    ]
    return "".join(_segment(elements) + "\n" for elements in segments).encode("utf-8")


def _transaction(d: PayerDecision) -> list[list[str]]:
    event = [
        ["HL", "4", "3", "EV", "1" if d.service_codes else "0"],
        ["TRN", "2", d.trace_number, TRACE_ORIGINATOR],
        ["UM", "HS", "I"],
        ["HCR", d.action, d.authorization_number or "", d.reason_code or ""],
    ]
    if d.reference:
        event.append(["REF", "NT", d.reference])
    if d.start:
        event.append(_dtp("AAH", d.start, d.end))
    if d.units is not None or d.unit_type:
        qualifier = QUALIFIER_FOR_UNIT[d.unit_type] if d.unit_type else ""
        event.append(["HSD", qualifier, "" if d.units is None else str(d.units)])
    if d.reason:
        event.append(["MSG", d.reason])
    return [*_header(d), *event, *_service_lines(d)]


def _header(d: PayerDecision) -> list[list[str]]:
    return [
        ["BHT", "0007", "11", d.trace_number, *_stamp(d.decided_at, century=True)],
        ["HL", "1", "", "20", "1"],
        ["NM1", "X3", "2", "STEPDOWN TEST PAYER", "", "", "", "", "PI", SENDER],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", "STEPDOWN PROVIDER", "", "", "", "", "XX", "1234567893"],
        ["HL", "3", "2", "22", "1"],
        ["NM1", "IL", "1", "MEMBER", "", "", "", "", "MI", "MEMBER"],
    ]


def _service_lines(d: PayerDecision) -> list[list[str]]:
    lines = []
    for number, code in enumerate(d.service_codes, start=5):
        # A revenue code goes in SV201; HCPCS and CPT codes in the SV101 composite.
        service = ["SV2", code] if is_revenue_code(code) else ["SV1", f"HC:{code}"]
        lines += [["HL", str(number), "4", "SS", "0"], ["UM", "HS", "I"], service]
    return lines


def _dtp(qualifier: str, start: date, end: date | None) -> list[str]:
    if end is None:
        return ["DTP", qualifier, "D8", f"{start:%Y%m%d}"]
    return ["DTP", qualifier, "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"]


def _stamp(at: datetime | None, century: bool = True) -> list[str]:
    if at is None:
        return ["", ""]
    utc = at.astimezone(UTC)
    return [f"{utc:%Y%m%d}" if century else f"{utc:%y%m%d}", f"{utc:%H%M%S}"]


def _isa(at: datetime | None) -> list[str]:
    day, clock = _stamp(at, century=False) if at else ["000101", "000000"]
    return [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{SENDER:<15}", "ZZ", f"{RECEIVER:<15}",
        day, clock[:4], "^", "00501", "000000001", "0", "P", ":",
    ]  # fmt: skip


def _segment(elements: list[str]) -> str:
    # X12 drops trailing empty elements rather than ending a segment with separators.
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return "*".join(elements) + "~"


def _refuse_delimiters(d: PayerDecision) -> None:
    values = {
        "trace_number": d.trace_number,
        "authorization_number": d.authorization_number,
        "reason_code": d.reason_code,
        "reason": d.reason,
        "reference": d.reference,
        **{f"service_codes[{i}]": code for i, code in enumerate(d.service_codes)},
    }
    for name, value in values.items():
        if value and any(ch in value for ch in (*DELIMITERS, "\r", "\n")):
            # X12 has no escape sequence: a delimiter inside data would split the segment.
            raise ValueError(f"{name} {value!r} contains an X12 delimiter or line break")

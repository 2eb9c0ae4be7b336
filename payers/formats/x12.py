"""X12 278 response (005010X217, application/edi-x12) parsed into a PayerDecision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import cast, get_args

from domain.model import PayerDecision, ReviewAction, UnitType
from payers.formats.common import QUANTITY_QUALIFIERS, build_decision
from payers.formats.errors import UnparseableDecision

Segment = list[str]
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
WHOLE_NUMBER = re.compile(r"\d{1,9}(\.0*)?")
DATE_DIGITS = re.compile(r"\d{8}")
TIME_DIGITS = re.compile(r"\d{4}(\d{2}(\d{1,2})?)?")
# DTP qualifiers holding the authorized span: 472 service date (2000F), AAH event date (2000E).
PERIOD_QUALIFIERS = ("472", "AAH")
SOURCES = {
    "trace_number": "TRN02",
    "action": "HCR01",
    "authorization_number": "HCR02",
    "start": "DTP03 (start date)",
    "end": "DTP03 (end date)",
    "units": "HSD02",
    "unit_type": "HSD01",
    "service_codes": "SV1/SV2 procedure code",
    "reason_code": "HCR03",
    "reason": "MSG01",
    "reference": "REF02 (REF*NT administrative reference number)",
    "decided_at": "BHT04/BHT05",
}


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    segment: str = "~"


def parse_x12(body: bytes) -> PayerDecision:
    text = _decode(body)
    delimiters = read_delimiters(text)
    segments = split_segments(text, delimiters)
    _check_envelope(segments)
    start, end = _period(segments)
    units, unit_type = _quantity(segments)
    action, authorization_number, reason_code = _review(segments)
    fields = {
        "trace_number": _trace_number(segments),
        "action": action,
        "authorization_number": authorization_number,
        "start": start,
        "end": end,
        "units": units,
        "unit_type": unit_type,
        "service_codes": _service_codes(segments, delimiters.component),
        "reason_code": reason_code,
        "reason": _first_element(segments, "MSG", 1),
        "reference": _administrative_reference(segments),
        "decided_at": _created(segments),
    }
    return build_decision(fields, SOURCES)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        # X12 predates UTF-8; single-byte text in names must not sink the decision.
        return body.decode("latin-1")


def split_segments(text: str, delimiters: Delimiters) -> list[Segment]:
    """Split on the interchange's own delimiters, tolerating line breaks between segments."""
    segments = []
    for number, raw in enumerate(text.split(delimiters.segment), start=1):
        cleaned = raw.lstrip(" \t\r\n\ufeff").rstrip("\r\n")
        if not cleaned:
            continue
        elements = cleaned.split(delimiters.element)
        if not SEGMENT_ID.fullmatch(elements[0]):
            raise UnparseableDecision(
                f"segment {number} ({cleaned[:20]!r}) does not start with a segment ID; "
                f"segments must end with {delimiters.segment!r}"
            )
        segments.append(elements)
    if not segments:
        raise UnparseableDecision("the body holds no X12 segments")
    return segments


def read_delimiters(text: str) -> Delimiters:
    """ISA fixes the element separator (4th character) and, after ISA16, the terminator."""
    text = text.lstrip(" \t\r\n\ufeff")
    if not text.startswith("ISA"):
        return Delimiters(segment="~" if "~" in text else "\n")
    element = text[3:4]
    position = 3
    for _ in range(15):
        position = text.find(element, position + 1) if element else -1
        if position < 0:
            break
    if not element or position < 0 or len(text) < position + 3:
        raise UnparseableDecision("the ISA segment is truncated: it needs 16 elements")
    found = Delimiters(element, text[position + 1], text[position + 2])
    chars = (found.element, found.component, found.segment)
    if len(set(chars)) < 3 or any(ch.isalnum() for ch in chars) or " " in chars[:2]:
        raise UnparseableDecision(
            f"the ISA delimiters are unusable (element {found.element!r}, "
            f"component {found.component!r} in ISA16, terminator {found.segment!r})"
        )
    return found


def element(segment: Segment, index: int) -> str:
    return segment[index] if len(segment) > index else ""


def _all(segments: list[Segment], segment_id: str) -> list[Segment]:
    return [segment for segment in segments if segment[0] == segment_id]


def _first_element(segments: list[Segment], segment_id: str, index: int) -> str | None:
    values = (element(segment, index) for segment in _all(segments, segment_id))
    return next((value for value in values if value), None)


def _check_envelope(segments: list[Segment]) -> None:
    ids = [segment[0] for segment in segments]
    transactions = _all(segments, "ST")
    if len(transactions) > 1:
        raise UnparseableDecision(
            f"the interchange carries {len(transactions)} transactions; "
            "send one 278 response per webhook call"
        )
    if transactions and element(transactions[0], 1) != "278":
        raise UnparseableDecision(
            f"ST01 is {element(transactions[0], 1)!r}; expected 278 (health care services review)"
        )
    for opening, closing in (("ISA", "IEA"), ("GS", "GE"), ("ST", "SE")):
        if opening in ids and closing not in ids[ids.index(opening) :]:
            raise UnparseableDecision(
                f"the body is truncated: {opening} has no closing {closing} segment"
            )
    purpose = _first_element(segments, "BHT", 2)
    if purpose is not None and purpose != "11":
        raise UnparseableDecision(
            f"BHT02 is {purpose!r}; a payer decision is a 278 response (BHT02 11)"
        )


def _trace_number(segments: list[Segment]) -> str:
    traces = _all(segments, "TRN")
    if not traces:
        raise UnparseableDecision(
            "no TRN segment: the 278 response must echo stepdown's trace number in TRN02"
        )
    # TRN01 2 is the requester's trace number echoed back; a UMO may add its own (TRN01 1).
    echoed = [trace for trace in traces if element(trace, 1) == "2"]
    value = element((echoed or traces)[0], 2)
    if not value:
        raise UnparseableDecision("TRN02 (the trace number stepdown sent) is empty")
    return value


def _review(segments: list[Segment]) -> tuple[ReviewAction, str | None, str | None]:
    reviews = _all(segments, "HCR")
    if not reviews:
        raise UnparseableDecision("no HCR segment: the decision belongs in HCR01")
    actions = sorted({element(review, 1) for review in reviews})
    if len(actions) > 1:
        raise UnparseableDecision(
            f"the HCR segments disagree ({', '.join(map(repr, actions))}); "
            "stepdown needs one decision per response"
        )
    allowed = get_args(ReviewAction)
    if actions[0] not in allowed:
        raise UnparseableDecision(
            f"HCR01 {actions[0]!r} is not a review action code (expected one of "
            f"{', '.join(allowed)})"
        )
    action = cast(ReviewAction, actions[0])
    return action, _first_element(reviews, "HCR", 2), _first_element(reviews, "HCR", 3)


def _administrative_reference(segments: list[Segment]) -> str | None:
    references = [ref for ref in _all(segments, "REF") if element(ref, 1) == "NT"]
    return _first_element(references, "REF", 2)


def _period(segments: list[Segment]) -> tuple[date | None, date | None]:
    dates = _all(segments, "DTP")
    spans = [dtp for q in PERIOD_QUALIFIERS for dtp in dates if element(dtp, 1) == q]
    if not spans:
        return None, None
    dtp = spans[0]
    where = f"DTP*{element(dtp, 1)}"
    kind, value = element(dtp, 2), element(dtp, 3)
    if kind == "D8":
        return _date8(value, where), None
    if kind == "RD8":
        parts = value.split("-")
        if len(parts) != 2:
            raise UnparseableDecision(f"{where} range {value!r} is not CCYYMMDD-CCYYMMDD")
        return _date8(parts[0], where), _date8(parts[1], where)
    raise UnparseableDecision(
        f"{where} uses date format {kind!r}; use D8 (CCYYMMDD) or RD8 (CCYYMMDD-CCYYMMDD)"
    )


def _date8(text: str, where: str) -> date:
    text = text.strip()
    try:
        if DATE_DIGITS.fullmatch(text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        pass
    raise UnparseableDecision(f"{where} date {text!r} is not a valid CCYYMMDD date")


def _quantity(segments: list[Segment]) -> tuple[int | None, UnitType | None]:
    deliveries = _all(segments, "HSD")
    if not deliveries:
        return None, None
    qualifier, quantity = element(deliveries[0], 1), element(deliveries[0], 2)
    if qualifier and qualifier not in QUANTITY_QUALIFIERS:
        raise UnparseableDecision(
            f"HSD01 quantity qualifier {qualifier!r} has no stepdown unit type; use DY (days), "
            "VS (visits, read as sessions), FL (15-minute units) or HS (hours)"
        )
    if quantity and not WHOLE_NUMBER.fullmatch(quantity):
        raise UnparseableDecision(
            f"HSD02 quantity {quantity!r} must be a whole number of at most 9 digits"
        )
    units = int(quantity.split(".")[0]) if quantity else None
    return units, QUANTITY_QUALIFIERS.get(qualifier)


def _service_codes(segments: list[Segment], component: str) -> tuple[str, ...]:
    found: list[str] = []
    for segment in segments:
        if segment[0] == "SV1":
            found.append(element(element(segment, 1).split(component), 1))
        elif segment[0] == "SV2":
            # SV201 is the revenue code; SV202 the HCPCS/CPT composite (e.g. HC:H0015).
            found.append(element(segment, 1))
            found.append(element(element(segment, 2).split(component), 1))
    return tuple(dict.fromkeys(code for code in found if code))


def _created(segments: list[Segment]) -> datetime | None:
    day = _first_element(segments, "BHT", 4)
    if day is None:
        return None
    clock = _first_element(segments, "BHT", 5) or "0000"
    try:
        # X12 times carry no zone; stepdown's trading-partner convention is UTC.
        if DATE_DIGITS.fullmatch(day) and TIME_DIGITS.fullmatch(clock):
            seconds = int(clock[4:6] or 0)
            return datetime(
                int(day[:4]), int(day[4:6]), int(day[6:]), int(clock[:2]), int(clock[2:4]),
                seconds, tzinfo=UTC,
            )  # fmt: skip
    except ValueError:
        pass
    raise UnparseableDecision(
        f"BHT04/BHT05 {day!r}/{clock!r} are not a CCYYMMDD date and HHMM[SS] time"
    )

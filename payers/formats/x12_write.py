"""Writing X12 interchanges: the ISA/GS/ST envelope around transaction sets, and safe elements."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

Segment = list[str]
ELEMENT, COMPONENT, SEGMENT, REPETITION = "*", ":", "~", "^"
DELIMITERS = (ELEMENT, COMPONENT, SEGMENT, REPETITION)
MAX_CONTROL_NUMBER = 999_999_999


class UnsendableValue(ValueError):
    """A value that cannot be put in an X12 element (X12 has no escape for its delimiters)."""


def safe(value: str, name: str) -> str:
    """`value` unchanged, or UnsendableValue when a delimiter or line break would split it."""
    if any(ch in value for ch in (*DELIMITERS, "\r", "\n")):
        raise UnsendableValue(f"{name} {value!r} contains an X12 delimiter or line break")
    if not value.isascii() or not value.isprintable():
        raise UnsendableValue(f"{name} {value!r} is not printable ASCII (the X12 character set)")
    return value


def text(value: str, limit: int) -> str:
    """Free text (names, messages) in X12's character set: accents dropped (José → Jose),
    delimiters and other characters outside printable ASCII become spaces, cut to size."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    kept = "".join(ch if ch.isprintable() and ch not in DELIMITERS else " " for ch in plain)
    return " ".join(kept.split())[:limit]


@dataclass(frozen=True)
class Envelope:
    """Who sends to whom, under which control number and version, and when.

    One control number per interchange, used as ISA13 and GS06: a 999 names the group
    (AK102) and a TA1 the interchange (TA101), and either finds the file it answers.
    """

    sender_id: str
    receiver_id: str
    control_number: int
    created_at: datetime
    functional_id: str  # GS01: HI for 278, HC for 837, FA for 999
    version: str  # GS08: 005010X217, 005010X223A2, 005010X231A1
    usage: str = "P"  # ISA15: P production, T test
    acknowledgement_requested: bool = False  # ISA14: ask for a TA1

    def __post_init__(self) -> None:
        if not 1 <= self.control_number <= MAX_CONTROL_NUMBER:
            raise UnsendableValue(f"control number {self.control_number} is not 1..999999999")
        for name in ("sender_id", "receiver_id"):
            value = getattr(self, name)
            if not 1 <= len(value) <= 15:
                raise UnsendableValue(f"{name} {value!r} must be 1 to 15 characters (ISA06/08)")
            safe(value, name)


def interchange(envelope: Envelope, transactions: list[list[Segment]]) -> bytes:
    """One interchange, one functional group; each transaction starts with its ST segment.

    SE01 counts the transaction's segments from ST to SE; SE02 repeats ST02.
    """
    at = envelope.created_at.astimezone(UTC)
    segments = [_isa(envelope, at), _gs(envelope, at)]
    for body in transactions:
        segments += [*body, ["SE", str(len(body) + 1), body[0][2]]]
    segments += [
        ["GE", str(len(transactions)), str(envelope.control_number)],
        ["IEA", "1", f"{envelope.control_number:09d}"],
    ]
    return "".join(render(segment) + "\n" for segment in segments).encode("ascii")


def transaction_header(kind: str, number: int, version: str) -> Segment:
    return ["ST", kind, f"{number:04d}", version]


def _isa(e: Envelope, at: datetime) -> Segment:
    return [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{e.sender_id:<15}", "ZZ",
        f"{e.receiver_id:<15}", f"{at:%y%m%d}", f"{at:%H%M}", REPETITION, "00501",
        f"{e.control_number:09d}", "1" if e.acknowledgement_requested else "0", e.usage,
        COMPONENT,
    ]  # fmt: skip


def _gs(e: Envelope, at: datetime) -> Segment:
    return [
        "GS", e.functional_id, e.sender_id, e.receiver_id, f"{at:%Y%m%d}", f"{at:%H%M}",
        str(e.control_number), "X", e.version,
    ]  # fmt: skip


def render(elements: Segment) -> str:
    # X12 drops trailing empty elements rather than ending a segment with separators.
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return ELEMENT.join(elements) + SEGMENT

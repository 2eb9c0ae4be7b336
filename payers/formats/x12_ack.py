"""X12 acknowledgements: the 999 (005010X231A1) and the TA1, parsed into one typed result.

A TA1 answers an interchange (TA101 = our ISA13); a 999 answers a functional group
(AK102 = our GS06) and each transaction set in it (AK202 = our ST02). DOMAIN §8.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import Segment, element, read_delimiters, split_segments
from payers.formats.x12_write import Envelope, interchange, transaction_header

ACK_VERSION = "005010X231A1"
ACCEPTED_CODES = ("A", "E")  # E: accepted, but errors were noted
CODE_MEANING = {
    "A": "accepted",
    "E": "accepted with errors noted",
    "P": "partially accepted",
    "R": "rejected",
    "M": "rejected, message authentication code failed",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analysed",
}
# IK304 segment and IK403 element syntax error codes, in words (the common ones).
SEGMENT_ERRORS = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "7": "segment not in defined transaction set",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
}
ELEMENT_ERRORS = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "I10": "implementation 'not used' data element present",
    "I12": "implementation pattern match failure",
}
# TA105 interchange note codes (the common ones).
INTERCHANGE_NOTES = {
    "000": "no error",
    "001": "the interchange control numbers in the header and trailer do not match",
    "006": "invalid interchange sender ID",
    "008": "invalid interchange receiver ID",
    "018": "invalid interchange control number value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class AckError(Model):
    """One error an acknowledgement reports, with where it was found when it says so."""

    code: str
    description: str
    segment_id: str | None = None
    position: int | None = None
    loop: str | None = None
    element: int | None = None

    def sentence(self) -> str:
        where = " ".join(
            part
            for part in (
                self.segment_id and f"segment {self.segment_id}",
                self.position and f"at position {self.position}",
                self.loop and f"in loop {self.loop}",
                self.element and f"element {self.element}",
            )
            if part
        )
        return f"{self.description} ({self.code}){' ' + where if where else ''}"


class TransactionAck(Model):
    """A 999's verdict on one transaction set (AK2 … IK5)."""

    transaction_set: str
    control_number: str
    code: str
    errors: tuple[AckError, ...] = ()


class Acknowledgement(Model):
    """A parsed 999 or TA1: which of our files it answers and whether it was accepted."""

    kind: Literal["999", "TA1"]
    # The control number of what is acknowledged: our GS06 (999) or our ISA13 (TA1).
    control_number: int
    functional_id: str | None = None  # AK101: HI (278) or HC (837); None for a TA1
    code: str
    transactions: tuple[TransactionAck, ...] = ()
    errors: tuple[AckError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED_CODES

    def reason(self) -> str:
        """One line for people: the verdict and every error."""
        meaning = CODE_MEANING.get(self.code, f"code {self.code}")
        errors = [*self.errors, *(e for t in self.transactions for e in t.errors)]
        details = "; ".join(error.sentence() for error in errors)
        return f"{self.kind} {meaning}" + (f": {details}" if details else "")


def is_acknowledgement(body: bytes) -> bool:
    """Whether `body` is an X12 interchange carrying a 999 or a TA1 (not a 278 or an 837)."""
    try:
        segments = _segments(body)
    except UnparseableDecision:
        return False
    ids = {segment[0] for segment in segments}
    types = {element(s, 1) for s in segments if s[0] == "ST"}
    return "TA1" in ids or types == {"999"}


def parse_acknowledgement(body: bytes) -> Acknowledgement:
    """Raises UnparseableDecision when `body` is neither a readable 999 nor a TA1."""
    segments = _segments(body)
    ids = [segment[0] for segment in segments]
    if "AK1" in ids:
        return _parse_999(segments)
    if "TA1" in ids:
        return _parse_ta1(segments[ids.index("TA1")])
    raise UnparseableDecision("the interchange holds neither a 999 (AK1) nor a TA1")


def _segments(body: bytes) -> list[Segment]:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise UnparseableDecision("an acknowledgement is ASCII text") from None
    return split_segments(text, read_delimiters(text))


def _number(value: str, where: str) -> int:
    if not value.isdigit():
        raise UnparseableDecision(f"{where} {value!r} is not a control number")
    return int(value)


def _parse_ta1(ta1: Segment) -> Acknowledgement:
    note = element(ta1, 5)
    errors: tuple[AckError, ...] = ()
    if note and note != "000":
        description = INTERCHANGE_NOTES.get(note, "interchange error")
        errors = (AckError(code=note, description=description),)
    code = element(ta1, 4)
    if code not in ("A", "E", "R"):
        raise UnparseableDecision(f"TA104 {code!r} is not A, E or R")
    number = _number(element(ta1, 1), "TA101")
    return Acknowledgement(kind="TA1", control_number=number, code=code, errors=errors)


def _parse_999(segments: list[Segment]) -> Acknowledgement:
    ak1 = next(s for s in segments if s[0] == "AK1")
    ak9 = next((s for s in segments if s[0] == "AK9"), None)
    if ak9 is None or not element(ak9, 1):
        raise UnparseableDecision("the 999 has no AK9 (functional group response)")
    group_errors = tuple(
        AckError(code=code, description="functional group error") for code in ak9[5:] if code
    )
    return Acknowledgement(
        kind="999",
        control_number=_number(element(ak1, 2), "AK102"),
        functional_id=element(ak1, 1) or None,
        code=element(ak9, 1),
        transactions=tuple(_transactions(segments)),
        errors=group_errors,
    )


def _transactions(segments: list[Segment]) -> list[TransactionAck]:
    found: list[TransactionAck] = []
    current: dict[str, str] | None = None
    errors: list[AckError] = []
    segment_at: Segment = []
    for segment in segments:
        kind = segment[0]
        if kind == "AK2":
            current = {"set": element(segment, 1), "number": element(segment, 2)}
            errors = []
        elif kind == "IK3" and current is not None:
            segment_at = segment
            errors.append(_segment_error(segment))
        elif kind == "IK4" and current is not None:
            errors.append(_element_error(segment, segment_at))
        elif kind == "IK5" and current is not None:
            codes = [code for code in segment[2:] if code]
            extra = [AckError(code=c, description="transaction set error") for c in codes]
            found.append(
                TransactionAck(
                    transaction_set=current["set"],
                    control_number=current["number"],
                    code=element(segment, 1),
                    errors=(*errors, *extra),
                )
            )
            current = None
    return found


def _segment_error(ik3: Segment) -> AckError:
    code = element(ik3, 4)
    position = element(ik3, 2)
    return AckError(
        code=code,
        description=SEGMENT_ERRORS.get(code, "segment error"),
        segment_id=element(ik3, 1) or None,
        position=int(position) if position.isdigit() else None,
        loop=element(ik3, 3) or None,
    )


def _element_error(ik4: Segment, ik3: Segment) -> AckError:
    code = element(ik4, 3)
    position = element(ik4, 1).split(":")[0]
    return AckError(
        code=code,
        description=ELEMENT_ERRORS.get(code, "data element error"),
        segment_id=element(ik3, 1) or None,
        element=int(position) if position.isdigit() else None,
    )


def build_999(envelope: Envelope, answered: Acknowledgement, versions: tuple[str, str]) -> bytes:
    """A 999 saying `answered` (the verdict on one group), for the simulator and tests.

    `versions` are the answered group's transaction set id and GS08, e.g. ("278", X217).
    """
    transaction_set, version = versions
    body = [
        transaction_header("999", 1, ACK_VERSION),
        ["AK1", answered.functional_id or "", str(answered.control_number), version],
    ]
    for verdict in answered.transactions:
        body.append(["AK2", transaction_set, verdict.control_number, version])
        for error in verdict.errors:
            body += _error_segments(error)
        body.append(["IK5", verdict.code])
    count = str(len(answered.transactions))
    accepted = sum(t.code in ACCEPTED_CODES for t in answered.transactions)
    body.append(["AK9", answered.code, count, count, str(accepted)])
    return interchange(envelope, [body])


def _error_segments(error: AckError) -> list[Segment]:
    ik3 = [
        "IK3", error.segment_id or "", str(error.position or ""), error.loop or "",
        "8" if error.element else error.code,
    ]  # fmt: skip
    if not error.element:
        return [ik3]
    return [ik3, ["IK4", str(error.element), "", error.code]]


def build_ta1(envelope: Envelope, answered: int, code: str, note: str = "000") -> bytes:
    """A bare TA1 interchange answering our interchange `answered`."""
    at = envelope.created_at
    text = interchange(envelope, []).decode("ascii").splitlines()
    ta1 = f"TA1*{answered:09d}*{at:%y%m%d}*{at:%H%M}*{code}*{note}~"
    # A TA1 stands between ISA and IEA, with no functional group around it.
    return "\n".join([text[0], ta1, text[-1].replace("IEA*1", "IEA*0"), ""]).encode("ascii")

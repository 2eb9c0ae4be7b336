"""Released claims as one X12 837I interchange (005010X223A2): what a claims batch sends.

The segments follow DOMAIN §8 (837I) and §6 (type of bill, condition code 92, patient
status, revenue lines with HCPCS, modifiers, units and line dates).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.model import Claim, Clinician, Patient, Payer
from domain.policy import PlanType

VERSION = "005010X223A2"
DELIMITERS = ("*", ":", "~", "^")
# SBR09 claim filing indicator (X12 element 1032) per plan type; our mapping of DOMAIN's
# plan types: MA plans bill as "16" (Medicare HMO risk), Medicaid and CHIP "MC", the rest
# commercial "CI".
FILING_INDICATOR: dict[PlanType, str] = {
    "medicare_advantage": "16",
    "medicaid_ffs": "MC",
    "medicaid_managed_care": "MC",
    "chip": "MC",
    "commercial": "CI",
    "qhp_exchange": "CI",
    "self_pay": "ZZ",
}
ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Frozen):
    line: str = Field(min_length=1, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    # 837I 2010AA wants the billing provider's ZIP+4 (nine digits).
    zip: str = Field(pattern=r"^\d{9}$")

    @field_validator("line", "city")
    @classmethod
    def _sendable(cls, value: str) -> str:
        return _text(value)


class Submitter(Frozen):
    """Who sends the claims (the facility, billing provider and submitter in one) and to
    which clearinghouse: the operator configures it (STEPDOWN_CLAIMS_SUBMITTER)."""

    name: str = Field(min_length=1, max_length=60)
    npi: str = Field(pattern=r"^\d{10}$")
    tax_id: str = Field(pattern=r"^\d{9}$")
    address: Address
    contact_name: str = Field(min_length=1, max_length=60)
    contact_phone: str = Field(pattern=r"^\d{10}$")
    # ISA06/GS02 and the 1000A submitter id the clearinghouse assigned.
    sender_id: str = Field(pattern=r"^[A-Za-z0-9]{2,15}$")
    # ISA08/GS03 and the 1000B receiver: the clearinghouse.
    receiver_id: str = Field(pattern=r"^[A-Za-z0-9]{2,15}$")
    receiver_name: str = Field(min_length=1, max_length=60)
    # ISA15: P production, T test.
    usage: str = Field(default="P", pattern=r"^[PT]$")

    @field_validator("name", "contact_name", "receiver_name")
    @classmethod
    def _sendable(cls, value: str) -> str:
        # Refused when configured, not when the first batch is cut.
        return _text(value)


class ControlNumbers(Frozen):
    """ISA13, GS06 and ST02: unique per sender, persisted by the batch store."""

    interchange: int = Field(ge=1, le=999_999_999)
    group: int = Field(ge=1, le=999_999_999)
    transaction: int = Field(ge=1, le=999_999_999)


class BilledClaim(Frozen):
    """A released claim with what its 837I needs besides the claim itself."""

    episode_id: str
    claim_id: str
    claim: Claim
    patient: Patient
    payer: Payer
    diagnoses: tuple[str, ...] = Field(min_length=1)
    # The attending clinician from intake (2310A); None for an episode opened without one.
    attending: Clinician | None = None


def patient_control_number(episode_id: str, claim_id: str) -> str:
    """CLM01 (at most 38 characters): claim ids are unique per episode only and may be 64
    long, so the number is a digest of both; the outbox keeps it to match acknowledgements."""
    digest = hashlib.sha256(f"{episode_id}/{claim_id}".encode()).hexdigest()
    return f"SD{digest[:24].upper()}"


def render_837i(
    claims: Sequence[BilledClaim],
    submitter: Submitter,
    control: ControlNumbers,
    batch_id: str,
    created_at: datetime,
) -> str:
    """One interchange, one group, one 837 transaction holding every claim; raises
    ValueError for a value that cannot be sent (a delimiter in data, a bad diagnosis)."""
    if not claims:
        raise ValueError("a batch holds at least one claim")
    at = created_at.astimezone(UTC)
    st = f"{control.transaction:04d}"
    body = [
        ["BHT", "0019", "00", batch_id, f"{at:%Y%m%d}", f"{at:%H%M}", "CH"],
        *_parties(submitter),
        *_claims(claims),
    ]
    segments = [
        _isa(submitter, control.interchange, at),
        ["GS", "HC", submitter.sender_id, submitter.receiver_id, f"{at:%Y%m%d}",
         f"{at:%H%M}", str(control.group), "X", VERSION],
        ["ST", "837", st, VERSION],
        *body,
        ["SE", str(len(body) + 2), st],
        ["GE", "1", str(control.group)],
        ["IEA", "1", f"{control.interchange:09d}"],
    ]  # fmt: skip
    return "".join(_segment(elements) + "\n" for elements in segments)


def check_claim(billed: BilledClaim) -> None:
    """Raises ValueError when `billed` cannot be carried by an 837I (see render_837i)."""
    _subscriber(billed)
    _claim(billed)


def _isa(s: Submitter, number: int, at: datetime) -> list[str]:
    return [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{s.sender_id:<15}", "ZZ",
        f"{s.receiver_id:<15}", f"{at:%y%m%d}", f"{at:%H%M}", "^", "00501",
        f"{number:09d}", "0", s.usage, ":",
    ]  # fmt: skip


def _parties(s: Submitter) -> list[list[str]]:
    a = s.address
    return [
        ["NM1", "41", "2", _text(s.name), "", "", "", "", "46", s.sender_id],
        ["PER", "IC", _text(s.contact_name), "TE", s.contact_phone],
        ["NM1", "40", "2", _text(s.receiver_name), "", "", "", "", "46", s.receiver_id],
        ["HL", "1", "", "20", "1"],
        ["NM1", "85", "2", _text(s.name), "", "", "", "", "XX", s.npi],
        ["N3", _text(a.line)],
        ["N4", _text(a.city), a.state, a.zip],
        ["REF", "EI", s.tax_id],
    ]


def _claims(claims: Sequence[BilledClaim]) -> list[list[str]]:
    segments: list[list[str]] = []
    # The patient is the subscriber (SBR02 18), so each claim sits under its own 2000B HL.
    for number, billed in enumerate(claims, start=2):
        segments += [["HL", str(number), "1", "22", "0"], *_subscriber(billed)]
        segments += _claim(billed)
    return segments


def _subscriber(b: BilledClaim) -> list[list[str]]:
    last, first = _name(b.patient.name)
    address = b.patient.address
    if address is None:
        # X223A2 2010BA N3/N4: required when the patient is the subscriber (SBR02 18). Never
        # made up: the claim waits in the outbox, rejected with this reason.
        raise ValueError(
            "the patient's address is missing: the 837I carries it as the subscriber's "
            "(2010BA N3/N4); record patient.address at intake"
        )
    street = ["N3", _text(address.line)] + ([_text(address.line2)] if address.line2 else [])
    return [
        ["SBR", "P", "18", "", "", "", "", "", "", FILING_INDICATOR[b.payer.plan_type]],
        ["NM1", "IL", "1", _text(last), _text(first), "", "", "", "MI", _text(b.patient.member_id)],
        street,
        ["N4", _text(address.city), address.state, address.zip],
        # Gender is not collected at intake: U (unknown) is a valid DMG03.
        ["DMG", "D8", f"{b.patient.birth_date:%Y%m%d}", "U"],
        # The payer id doubles as its name until a payer directory names payers.
        ["NM1", "PR", "2", _text(b.payer.id), "", "", "", "", "PI", _text(b.payer.id)],
    ]


def _claim(b: BilledClaim) -> list[list[str]]:
    c = b.claim
    total = sum((line.charge for line in c.lines), Decimal(0))
    tob = c.type_of_bill
    # CLM05: the type of bill without its leading 0, split into facility and frequency (§8).
    place = f"{tob[1:3]}:A:{tob[3]}"
    segments = [
        ["CLM", patient_control_number(b.episode_id, b.claim_id), _money(total), "", "",
         place, "", "A", "Y", "Y"],
        ["DTP", "434", "RD8", f"{c.from_:%Y%m%d}-{c.through:%Y%m%d}"],
        ["CL1", "", "", c.patient_status],  # §6: 30 on interim bills, else discharge status
    ]  # fmt: skip
    if c.prior_authorization:
        segments.append(["REF", "G1", _text(c.prior_authorization)])  # §8: else CARC 197
    segments += _diagnoses(b.diagnoses)
    segments.append(["HI", *(f"BG:{_text(code)}" for code in c.condition_codes)])  # §6: cc 92
    segments.append(_attending(b))
    for number, line in enumerate(c.lines, start=1):
        codes = [line.hcpcs, *line.modifiers] if line.hcpcs else []
        procedure = ":".join(["HC", *map(_text, codes)]) if codes else ""
        segments += [
            ["LX", str(number)],
            [
                "SV2",
                _text(line.revenue_code),
                procedure,
                _money(line.charge),
                "UN",
                str(line.units),
            ],
            ["DTP", "472", "D8", f"{line.date:%Y%m%d}"],  # §6: a date on every line
        ]
    return segments


def _attending(b: BilledClaim) -> list[str]:
    """X223A2 2310A: required on every institutional claim but nonscheduled transport. The
    lines' rendering clinicians are not on the claim (2310D/2420C are not sent)."""
    a = b.attending
    if a is None:
        raise ValueError(
            "no attending clinician: the 837I requires one (2310A NM1*71); record attending "
            "(npi, last_name, first_name) at intake"
        )
    return ["NM1", "71", "1", _text(a.last_name), _text(a.first_name), "", "", "", "XX", a.npi]


def _diagnoses(diagnoses: Sequence[str]) -> list[list[str]]:
    codes = [_icd10(dx) for dx in diagnoses]
    principal, others = codes[0], codes[1:12]
    segments = [
        ["HI", f"ABK:{principal}"],
        # An outpatient claim reports the patient's reason for visit; ours is the principal.
        ["HI", f"APR:{principal}"],
    ]
    if others:
        segments.append(["HI", *(f"ABF:{code}" for code in others)])
    return segments


def _icd10(code: str) -> str:
    if not ICD10.fullmatch(code):
        raise ValueError(f"diagnosis {code!r} is not an ICD-10-CM code")
    return code.replace(".", "")  # X12 carries ICD-10 codes without the period


def _name(full: str) -> tuple[str, str]:
    """(last, first): "Roe, Jane" or "Jane Q Roe" (the last word is the family name)."""
    if "," in full:
        last, _, first = full.partition(",")
        return last.strip(), first.strip()
    *given, last = full.split()
    return last, " ".join(given)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")).normalize(), "f")


def _text(value: str) -> str:
    """A data value as sent; X12 has no escape, so a delimiter inside data is refused."""
    if any(ch in value for ch in (*DELIMITERS, "\n", "\r")):
        raise ValueError(f"{value!r} contains an X12 delimiter or line break")
    return value


def _segment(elements: list[str]) -> str:
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return "*".join(elements) + "~"

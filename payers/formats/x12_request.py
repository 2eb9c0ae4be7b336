"""Build the X12 278 request (005010X217) for an authorization we ask a payer for.

Loops (X217): 2000A/2010A the UMO (payer), 2000B/2010B the requester (our facility),
2000C/2010C the subscriber (the patient; stepdown's patients are their own subscribers, so
no 2000D), 2000E the patient event (TRN trace number, UM, REF, DTP, HI, HSD, MSG) and one
2000F service HL per requested code (UM, DTP*472, SV2 or SV1; the first one's MSG carries an
extension's attendance evidence). DOMAIN §8.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.codes import REVENUE_CODES
from domain.model import UnitType
from payers.formats.common import QUALIFIER_FOR_UNIT, is_revenue_code
from payers.formats.x12_write import (
    Envelope,
    Segment,
    UnsendableValue,
    interchange,
    safe,
    text,
    transaction_header,
)

VERSION = "005010X217"
CERTIFICATION_TYPE = {"initial": "I", "extension": "4", "reversal": "S"}
# UM03 service type (code list 1365): AI substance abuse, the ASAM levels' service.
SERVICE_TYPE = "AI"
# UM06 level of service: U urgent for an expedited request, E elective otherwise.
LEVEL_OF_SERVICE = {"expedited": "U", "standard": "E"}
# SV204 unit basis: DA days, UN units (sessions, 15-minute units and hours are counted).
SV2_BASIS = {"days": "DA"}
MAX_DIAGNOSES = 12


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(Model):
    name: str = Field(min_length=1)
    id: str = Field(min_length=1, max_length=80)


class Subscriber(Model):
    last_name: str = Field(min_length=1)
    first_name: str = ""
    member_id: str = Field(min_length=1, max_length=80)
    birth_date: date | None = None


class LevelOfCare(Model):
    """The ASAM step: carried in MSG, since X217 has no element for an ASAM level."""

    asam_edition: int
    from_level: str
    to_level: str
    dimensions: dict[str, int] = {}


class Request278(Model):
    """What one 278 request says; built from a PayerRequest by the X12 gateway."""

    trace_number: str = Field(min_length=1, max_length=50)
    purpose: Literal["initial", "extension", "reversal"]
    payer: Party
    requester: Party
    subscriber: Subscriber
    start: date
    end: date
    units: int = Field(gt=0)
    unit_type: UnitType
    service_codes: tuple[str, ...] = Field(min_length=1)
    diagnoses: tuple[str, ...] = Field(min_length=1)
    level_of_care: LevelOfCare
    urgency: Literal["standard", "expedited"] = "standard"
    facility_type: str = Field(default="13", pattern=r"^\d{2}$")  # UM04-1: TOB digits 2-3
    authorization_number: str | None = None  # REF*BB: the authorization being extended
    trace_originator: str = Field(default="9STEPDOWN0", min_length=10, max_length=10)
    # §5 attendance evidence of an extension request (issue 12): the first 2000F's MSG, since
    # the 2000E MSG (one use) carries the level of care.
    attendance_note: str | None = Field(default=None, max_length=264)


def build_278_request(request: Request278, envelope: Envelope) -> bytes:
    """One interchange holding one 278 request; raises UnsendableValue for unsendable data."""
    at = envelope.created_at.astimezone(UTC)
    body = [
        transaction_header("278", 1, VERSION),
        ["BHT", "0007", "13", safe(request.trace_number, "trace_number"),
         f"{at:%Y%m%d}", f"{at:%H%M%S}"],
        *_parties(request),
        *_patient_event(request),
        *_service_lines(request),
    ]  # fmt: skip
    return interchange(envelope, [body])


def _parties(r: Request278) -> list[Segment]:
    s = r.subscriber
    last_name = text(s.last_name, 60)
    if not last_name:
        raise UnsendableValue(f"the last name {s.last_name!r} has no letters X12 can carry")
    subscriber = ["NM1", "IL", "1", last_name, text(s.first_name, 35)]
    segments = [
        ["HL", "1", "", "20", "1"],
        ["NM1", "X3", "2", text(r.payer.name, 60), "", "", "", "", "PI",
         safe(r.payer.id, "payer id")],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", text(r.requester.name, 60), "", "", "", "", "XX",
         safe(r.requester.id, "requester NPI")],
        ["HL", "3", "2", "22", "1"],
        [*subscriber, "", "", "", "MI", safe(s.member_id, "member_id")],
    ]  # fmt: skip
    if s.birth_date is not None:
        segments.append(["DMG", "D8", f"{s.birth_date:%Y%m%d}"])
    return segments


def _patient_event(r: Request278) -> list[Segment]:
    segments = [
        ["HL", "4", "3", "EV", "1"],
        ["TRN", "1", safe(r.trace_number, "trace_number"), safe(r.trace_originator, "originator")],
        ["UM", "HS", CERTIFICATION_TYPE[r.purpose], SERVICE_TYPE, f"{r.facility_type}:A",
         "", LEVEL_OF_SERVICE[r.urgency]],
    ]  # fmt: skip
    if r.authorization_number:
        segments.append(["REF", "BB", safe(r.authorization_number, "authorization_number")])
    segments += [
        _period("AAH", r.start, r.end),
        _diagnoses(r.diagnoses),
        ["HSD", QUALIFIER_FOR_UNIT[r.unit_type], str(r.units)],
        ["MSG", text(_level_of_care_note(r.level_of_care), 264)],
    ]
    return segments


def _level_of_care_note(level: LevelOfCare) -> str:
    ratings = " ".join(f"D{k}={v}" for k, v in sorted(level.dimensions.items()))
    note = f"ASAM {level.to_level} requested, stepping down from ASAM {level.from_level}"
    return f"{note} (ASAM criteria edition {level.asam_edition}). Dimension risk {ratings}"


def _diagnoses(codes: tuple[str, ...]) -> Segment:
    # ABK principal diagnosis, ABF other diagnoses (ICD-10-CM, written without the dot).
    qualifiers = ["ABK", *["ABF"] * (len(codes) - 1)]
    pairs = zip(qualifiers, codes[:MAX_DIAGNOSES], strict=False)
    return ["HI", *(f"{q}:{safe(code.replace('.', ''), 'diagnosis')}" for q, code in pairs)]


def _period(qualifier: str, start: date, end: date) -> Segment:
    return ["DTP", qualifier, "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"]


def _service_lines(r: Request278) -> list[Segment]:
    revenue = [code for code in r.service_codes if is_revenue_code(code)]
    procedures = [code for code in r.service_codes if not is_revenue_code(code)]
    if revenue:
        # Institutional: each HCPCS/CPT code on the revenue code it is billed under (SV2).
        lines = [_institutional(r, _revenue_for(code, revenue), code) for code in procedures]
        paired = {line[1] for line in lines}
        lines += [_institutional(r, code, None) for code in revenue if code not in paired]
    else:
        lines = [_professional(r, code) for code in procedures]
    segments = []
    for number, service in enumerate(lines, start=5):
        segments += [
            ["HL", str(number), "4", "SS", "0"],
            ["UM", "HS", CERTIFICATION_TYPE[r.purpose]],
            _period("472", r.start, r.end),
            service,
        ]
        if number == 5 and r.attendance_note:
            segments.append(["MSG", text(r.attendance_note, 264)])
    return segments


def _revenue_for(code: str, revenue: list[str]) -> str:
    """The requested revenue code whose DOMAIN §6 table lists `code`, else the first one."""
    return next((rc for rc in revenue if code in REVENUE_CODES.get(rc, ())), revenue[0])


def _institutional(r: Request278, revenue_code: str, procedure: str | None) -> Segment:
    composite = f"HC:{safe(procedure, 'service code')}" if procedure else ""
    basis = SV2_BASIS.get(r.unit_type, "UN")
    return ["SV2", safe(revenue_code, "revenue code"), composite, "", basis, str(r.units)]


def _professional(r: Request278, procedure: str) -> Segment:
    # SV103 knows only MJ (minutes) and UN (units): days are counted as units here.
    return ["SV1", f"HC:{safe(procedure, 'service code')}", "", "UN", str(r.units)]

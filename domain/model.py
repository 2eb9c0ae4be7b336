"""Value objects shared by commands, events and state: frozen pydantic models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from domain.policy import PlanType

UnitType = Literal["days", "sessions", "units_15min", "hours"]
Setting = Literal["hospital_outpatient", "cah", "cmhc", "otp", "fqhc", "rhc", "freestanding"]
Urgency = Literal["expedited", "standard"]
Department = Literal["on_campus", "excepted_off_campus", "non_excepted_off_campus"]
Disposition = Literal["step_down", "step_up", "completed", "left_ama", "other"]
ReviewAction = Literal["A1", "A2", "A3", "A4", "A6", "C", "CT", "NA"]

EpisodeStateName = Literal[
    "referred",
    "auth_requested",
    "info_requested",
    "denied",
    "p2p_requested",
    "p2p_scheduled",
    "appeal",
    "authorized",
    "expired",
    "discharged",
    "closed",
    "cancelled",
]
TERMINAL_STATES: frozenset[str] = frozenset({"closed", "cancelled"})


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Frozen):
    """The person (or service) who asked for a change: `user:<username>` or `token:<fp>`.

    HIPAA's audit controls want every change traceable to a person; commands carry one and
    the events they produce repeat it.
    """

    id: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=20)
    name: str | None = Field(default=None, max_length=200)


class Address(Frozen):
    """A US postal address, as the 837I carries it (N3/N4)."""

    line: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, min_length=1, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    # Five digits, or ZIP+4 as nine.
    zip: str = Field(pattern=r"^\d{5}(\d{4})?$")


class Patient(Frozen):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    birth_date: date
    member_id: str = Field(min_length=1, max_length=64)
    # The patient's home address: the 837I's subscriber address (2010BA N3/N4, the patient
    # is the subscriber). Optional at intake; a claim is not sent without it.
    address: Address | None = None


class Clinician(Frozen):
    """The attending clinician of an episode: the 837I's attending provider (2310A)."""

    npi: str = Field(pattern=r"^\d{10}$")
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)


class Payer(Frozen):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    plan_type: PlanType


class PriorAuthorization(Frozen):
    number: str = Field(min_length=1, max_length=64)
    level: str
    start: date
    end: date


class RequestedAuthorization(Frozen):
    start: date
    units: int = Field(gt=0, le=10_000)
    unit_type: UnitType
    service_codes: tuple[str, ...] = Field(min_length=1)


class Authorization(Frozen):
    """A payer's level-of-care authorization; extensions move `end` and add `units`."""

    number: str = Field(min_length=1, max_length=64)
    start: date
    end: date
    units: int = Field(ge=0)
    unit_type: UnitType
    service_codes: tuple[str, ...]

    def covers(self, day: date, code: str, revenue_code: str | None = None) -> bool:
        in_dates = self.start <= day <= self.end
        return in_dates and (code in self.service_codes or revenue_code in self.service_codes)


class Service(Frozen):
    """One attended service on one date (a line on a claim)."""

    service_id: str = Field(min_length=1, max_length=64)
    date: date
    code: str = Field(default="", max_length=5)
    revenue_code: str = Field(pattern=r"^\d{4}$")
    minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    units: int = Field(default=1, ge=1, le=96)
    modifiers: tuple[str, ...] = ()
    rendering_npi: str = Field(pattern=r"^\d{10}$")
    roster_signed: bool = True
    charge: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class ClaimLine(Frozen):
    service_id: str
    revenue_code: str
    hcpcs: str | None
    modifiers: tuple[str, ...]
    date: date
    units: int
    charge: Decimal
    # §4/§8: the prior authorization covering this line (REF*G1 at line level when a claim
    # draws on two authorizations). None only on lines recorded before this field.
    authorization_number: str | None = None


class Claim(Frozen):
    type_of_bill: str
    condition_codes: tuple[str, ...]
    patient_status: str
    from_: date = Field(alias="from")
    through: date
    lines: tuple[ClaimLine, ...]
    day_classes: dict[str, str] = Field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # §8 REF*G1: the authorization covering the claim's lines (the one covering most of them
    # when two do; each line then names its own). None only on claims built before this field.
    authorization_number: str | None = None
    # A replacement (frequency 7) names the claim it replaces.
    replaces: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def prior_authorization(self) -> str | None:
        """The one number the 837I's REF*G1 carries: the authorization most lines draw on,
        the earliest line's on a tie (DOMAIN §8: a missing one is denied with CARC 197)."""
        if self.authorization_number:
            return self.authorization_number
        numbers = [line.authorization_number for line in self.lines if line.authorization_number]
        if not numbers:
            return None
        return max(numbers, key=lambda n: (numbers.count(n), -numbers.index(n)))


class HoldReason(Frozen):
    code: str
    detail: str
    lines: tuple[str, ...] = ()


class PayerDecision(Frozen):
    """One payer answer in the canonical shape every inbound format is parsed into."""

    trace_number: str = Field(min_length=1, max_length=80)
    action: ReviewAction
    authorization_number: str | None = Field(default=None, max_length=64)
    start: date | None = None
    end: date | None = None
    units: int | None = Field(default=None, ge=0)
    unit_type: UnitType | None = None
    service_codes: tuple[str, ...] = ()
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    reference: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = None
    # The payer's extension notice (§3, issue 12): with A4 (pended), it takes this many more
    # days for its decision; the deadline moves, nothing is decided.
    extension_days: int | None = Field(default=None, ge=1, le=60)


# What the episode's clock waits for (DOMAIN §3–§5); each kind has one rule in
# domain/decide_clock.py (a test keeps the two equal).
DeadlineKind = Literal[
    "payer_decision_due",
    "info_response_due",
    "payer_inquiry_due",
    "p2p_window_closes",
    "p2p_outcome_due",
    "appeal_filing_due",
    "appeal_decision_due",
    "concurrent_review_due",
    "authorization_ends",
]
DEADLINE_KINDS: frozenset[str] = frozenset(get_args(DeadlineKind))


class Deadline(Frozen):
    kind: DeadlineKind
    due: datetime

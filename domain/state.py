"""The episode's state: the fold of its events. Frozen; `evolve` returns a new one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypedDict

from pydantic import Field

from domain.attendance import MISSED, AttendanceEntry, ProgramSchedule
from domain.events import EpisodeOpened, RequestPurpose
from domain.model import (
    Authorization,
    Claim,
    DeadlineKind,
    EpisodeStateName,
    Frozen,
    HoldReason,
    Service,
)
from domain.policy import PayerPolicy

CURRENT_RULES = 4


class PendingRequest(Frozen):
    """A request to the payer that is waiting for a decision."""

    trace_number: str
    purpose: RequestPurpose
    decision_due: datetime
    escalations: int = 0
    units: int = 0
    awaiting_information: bool = False
    # Set when the submission never reached the payer: no payer clock runs meanwhile.
    undelivered: str | None = None

    # The day the request was made (None in states recorded before this field): an extension
    # approved without a start never covers days before it.
    requested_on: date | None = None
    # The payer already extended this request's decision window (once per request).
    extended: bool = False
    # A Da Vinci PAS pend: inquiries made so far and the deadline that ends them (§8).
    inquiries: int = 0
    inquire_until: datetime | None = None


class ClaimRecord(Frozen):
    claim_id: str
    # superseded: its lines went into a newer claim for the same month (held merge or a
    # frequency-7 replacement); it no longer counts as billing them.
    status: Literal["released", "held", "superseded"]
    through: date
    service_ids: tuple[str, ...]
    claim: Claim | None = None
    reasons: tuple[HoldReason, ...] = ()
    dropped: tuple[HoldReason, ...] = ()
    replaces: str | None = None
    superseded_by: str | None = None


class Denial(Frozen):
    at: datetime
    purpose: RequestPurpose
    reason_code: str | None
    reason: str | None
    deemed: bool
    p2p_window_closes: datetime
    appeal_filing_due: datetime


class DischargeInfo(Frozen):
    date: date
    patient_status: str
    disposition: str
    to_level: str | None = None


class EffectFailure(Frozen):
    """An effect that was refused or ran out of retries; open until ops retries it."""

    failure_id: str
    kind: Literal["submit_request", "request_p2p", "deliver_claim", "notify", "inquire_payer"]
    key: str
    reason: str
    at: datetime
    attempt: int = 0
    detail: dict[str, Any] = Field(default_factory=dict)
    open: bool = True


class Episode(Frozen):
    episode_id: str = ""
    status: EpisodeStateName = "referred"
    opened: EpisodeOpened | None = None
    version: int = 0
    request_count: int = 0
    pending: PendingRequest | None = None
    trace_numbers: tuple[str, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    ended_authorizations: dict[str, str] = Field(default_factory=dict)
    denial: Denial | None = None
    p2p_requested: bool = False
    p2p_call_at: datetime | None = None
    p2p_missed_calls: int = 0
    p2p_outcome: str | None = None
    appeal_level: str | None = None
    appeal_outcome: str | None = None
    appeal_extended: bool = False
    services: dict[str, Service] = Field(default_factory=dict)
    claims: dict[str, ClaimRecord] = Field(default_factory=dict)
    discharge: DischargeInfo | None = None
    delivery_ids: frozenset[str] = frozenset()
    deadlines: dict[DeadlineKind, datetime] = Field(default_factory=dict)
    notices: tuple[str, ...] = ()
    closed_reason: str | None = None
    failures: dict[str, EffectFailure] = Field(default_factory=dict)
    # Which billing rules decide: episodes whose workflow history predates a rule keep the
    # rules they ran under (replay is a contract). 2 adds the per-day duplicate hold (issue 12);
    # 3 sends a month's late lines on a claim of their own instead of holding them; 4 has new
    # lines that release a held replacement supersede it (before, it stayed held, and a later
    # regate billed its lines a second time).
    rules: int = CURRENT_RULES
    # service_id -> why billing voided it (the service left `services`; the id stays taken).
    voided_services: dict[str, str] = Field(default_factory=dict)
    schedule: ProgramSchedule | None = None
    attendance: dict[str, AttendanceEntry] = Field(default_factory=dict)

    @property
    def missed_sessions(self) -> frozenset[str]:
        """Sessions recorded as no-show or late cancel: never on a claim (§7)."""
        return frozenset(k for k, v in self.attendance.items() if v.status in MISSED)

    @property
    def policy(self) -> PayerPolicy:
        if self.opened is None:
            raise ValueError("episode is not open")
        return self.opened.policy

    @property
    def is_open(self) -> bool:
        return self.opened is not None

    @property
    def billed_service_ids(self) -> frozenset[str]:
        """Services already in a claim, released or held (not in a superseded one)."""
        return frozenset(
            sid for c in self.claims.values() if c.status != "superseded" for sid in c.service_ids
        )

    @property
    def released_claims(self) -> list[ClaimRecord]:
        return [c for c in self.claims.values() if c.status == "released"]

    @property
    def held_claims(self) -> list[ClaimRecord]:
        return [c for c in self.claims.values() if c.status == "held"]


class EpisodeChanges(TypedDict, total=False):
    """What one event changes in an `Episode`: `evolve`'s handlers return this, so a misspelt
    field or a value of the wrong type is a type error (mypy strict), and `evolve` refuses an
    unknown key at run time. A test keeps it field for field equal to `Episode`."""

    episode_id: str
    status: EpisodeStateName
    opened: EpisodeOpened | None
    request_count: int
    pending: PendingRequest | None
    trace_numbers: tuple[str, ...]
    authorizations: tuple[Authorization, ...]
    ended_authorizations: dict[str, str]
    denial: Denial | None
    p2p_requested: bool
    p2p_call_at: datetime | None
    p2p_missed_calls: int
    p2p_outcome: str | None
    appeal_level: str | None
    appeal_outcome: str | None
    appeal_extended: bool
    services: dict[str, Service]
    claims: dict[str, ClaimRecord]
    discharge: DischargeInfo | None
    delivery_ids: frozenset[str]
    deadlines: dict[DeadlineKind, datetime]
    notices: tuple[str, ...]
    closed_reason: str | None
    failures: dict[str, EffectFailure]
    rules: int
    voided_services: dict[str, str]
    schedule: ProgramSchedule | None
    attendance: dict[str, AttendanceEntry]


def live_authorizations(state: Episode) -> list[Authorization]:
    """Authorizations that have not ended by date or by units."""
    return [a for a in state.authorizations if a.number not in state.ended_authorizations]


def open_failures(state: Episode) -> list[EffectFailure]:
    return [f for f in state.failures.values() if f.open]

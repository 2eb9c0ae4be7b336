"""Read shapes derived from an episode: the API's episode view, summaries and worklist items."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.attendance import ProgramSchedule
from domain.model import Claim, Deadline, HoldReason, Payer, UnitType

WorklistKind = Literal[
    "payer_decision_overdue",
    "info_requested",
    "p2p_window_closing",
    "p2p_scheduled",
    "appeal_due",
    "concurrent_review_due",
    "authorization_expiring",
    "claims_held",
    "webhook_unmatched",
    "submit_request_failed",
    "request_p2p_failed",
    "deliver_claim_failed",
    "notify_failed",
    "workflow_stuck",
    "denial_without_reason",
    "repeated_no_shows",
]


class StoredEvent(BaseModel):
    """A domain event with its per-episode sequence number, as the read model keeps it."""

    seq: int = Field(ge=1)
    type: str
    at: datetime
    data: dict[str, Any]


class AuthorizationView(BaseModel):
    number: str
    start: date
    end: date
    units: int
    unit_type: UnitType
    service_codes: list[str]
    status: Literal["active", "expired", "exhausted"]


class UnitsView(BaseModel):
    approved: int = 0
    used: int = 0
    remaining: int = 0


class ClaimView(BaseModel):
    claim_id: str
    status: Literal["released", "held", "superseded"]
    through: date
    claim: Claim | None = None
    reasons: list[HoldReason] = []
    # Lines left off this claim because they can never bill as recorded (void or correct them).
    dropped: list[HoldReason] = []
    superseded_by: str | None = None


class WeekView(BaseModel):
    week: date
    hours: Decimal
    minimum: int | None
    below_minimum: bool


class AttendanceView(BaseModel):
    """The schedule and attendance (issue 12): hours a week against the level's minimum."""

    schedule: ProgramSchedule | None
    weeks: list[WeekView]
    attended: int
    missed: int
    excused: int
    no_show_fees: Decimal
    repeated_no_shows: list[date]


class EpisodeView(BaseModel):
    episode_id: str
    state: str
    payer: Payer
    trace_number: str | None
    authorization: AuthorizationView | None
    units: UnitsView
    deadlines: list[Deadline]
    claims: list[ClaimView]
    version: int
    attendance: AttendanceView | None = None


class WorklistItem(BaseModel):
    episode_id: str
    kind: WorklistKind
    due: datetime | None
    detail: str
    # A webhook_unmatched item names its delivery, so ops can assign it to an episode.
    delivery_id: str | None = None
    delivery_payer_id: str | None = None
    # An item without a due date says since when it waits and what is at stake, and ranks by
    # both (ranked_at): held claims since their oldest unbilled service, with their charges.
    since: datetime | None = None
    value: Decimal | None = None


# An undated item ranks as if due this long after it began waiting...
UNDATED_GRACE_DAYS = 14
# ...a day sooner for each this many dollars at stake, at most the whole grace sooner.
DOLLARS_PER_DAY = Decimal(1000)


def ranked_at(item: WorklistItem) -> datetime | None:
    """When an item falls due for ranking: its due time, else (undated) its age and value.

    A claim held since a service 20 days ago ranks as due 6 days ago, ahead of a deadline
    tomorrow; one held yesterday for $3,000 as due in 10 days. Without a `since` there is
    nothing to rank by: such items come last.
    """
    if item.due is not None:
        return item.due
    if item.since is None:
        return None
    sooner = min(UNDATED_GRACE_DAYS, int((item.value or 0) // DOLLARS_PER_DAY))
    return item.since + timedelta(days=UNDATED_GRACE_DAYS - sooner)


class EpisodeSummary(BaseModel):
    """One row of the episode list; no PHI beyond the episode id."""

    episode_id: str
    state: str
    payer_id: str
    plan_type: str
    trace_number: str | None
    next_deadline: datetime | None
    authorization_end: date | None
    held_claims: int
    version: int
    opened_at: datetime
    updated_at: datetime
    worklist: list[WorklistItem] = []

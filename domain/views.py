"""Read shapes derived from an episode: the API's episode view, summaries and worklist items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

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
    status: Literal["released", "held"]
    through: date
    claim: Claim | None = None
    reasons: list[HoldReason] = []


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


class WorklistItem(BaseModel):
    episode_id: str
    kind: WorklistKind
    due: datetime | None
    detail: str


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

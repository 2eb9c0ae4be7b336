"""Inputs and results of the episode workflow's run, updates and queries (one model each)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from domain.commands import AttachmentIds, OpenEpisode
from domain.model import Actor, Claim, HoldReason, Urgency
from domain.state import Episode
from domain.views import EpisodeView, StoredEvent
from workflows.lanes import PendingEffect


class EpisodeInput(BaseModel):
    """Start input; on continue-as-new `snapshot` carries the state (its version is the seq)."""

    open: OpenEpisode
    snapshot: Episode | None = None
    upsert_search_attributes: bool = True
    continue_as_new_after_events: int = 500
    # Also continue as new once a run's history holds this many Temporal events, so per-run
    # history and replay time stay flat however long the episode runs (None: off).
    continue_as_new_after_history_events: int | None = 200
    # Start-to-close of every activity in seconds, instead of the defaults in
    # activities/options.py (None); the fault tests shorten it so a killed worker's
    # activity is retried within seconds.
    activity_timeout_seconds: float | None = None
    # How long a payer submission keeps retrying before it becomes `submission_failed`
    # (None: activities/options.PAYER_GIVE_UP).
    payer_give_up_seconds: float | None = None
    # Carried by continue-as-new: effects whose activities had not finished, and events the
    # read model had not confirmed; the next run starts both again (they are idempotent).
    pending_effects: list[PendingEffect] = []
    unprojected_events: list[StoredEvent] = []


class EpisodeResult(BaseModel):
    episode_id: str
    state: str
    version: int


class DecisionResult(BaseModel):
    status: Literal["applied", "duplicate"]
    view: EpisodeView


class LineOutcome(BaseModel):
    service_id: str
    code: str = ""
    detail: str = ""


class ServicesResult(BaseModel):
    """No episode view: services are recorded weekly for months, and a view (every claim with
    its lines) in each result made history bytes per run grow with the episode (bench §6)."""

    accepted: list[str]
    duplicates: list[str]
    rejected: list[LineOutcome]
    warnings: list[LineOutcome]
    # None only from a worker older than this field (during a rolling upgrade).
    version: int | None = None


class ClaimResult(BaseModel):
    claim_id: str
    status: Literal["released", "held"]
    claim: Claim | None = None
    reasons: list[HoldReason] = []
    # Lines left off the claim because they can never bill as recorded (issue 12).
    dropped: list[HoldReason] = []


class P2PAction(BaseModel):
    action: Literal["request", "schedule", "outcome"]
    at: datetime | None = None
    outcome: Literal["overturned", "upheld"] | None = None
    reviewer: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    # Ids of the episode's attachments sent with the request (`action: request` only).
    attachments: AttachmentIds = ()
    # Set by the API from the signed-in caller (whatever a body says); not part of the contract.
    actor: SkipJsonSchema[Actor | None] = None


class AppealAction(BaseModel):
    action: Literal["file", "outcome"]
    level: Urgency = "standard"
    outcome: Literal["overturned", "upheld"] | None = None
    # Ids of the episode's attachments filed with the appeal (`action: file` only).
    attachments: AttachmentIds = ()
    # Set by the API from the signed-in caller (whatever a body says); not part of the contract.
    actor: SkipJsonSchema[Actor | None] = None


class EventsQuery(BaseModel):
    after: int = 0


class RetryResult(BaseModel):
    """The failures that were started again (their new attempts run as effects)."""

    retried: list[str]


class AttendanceResult(BaseModel):
    """Sessions recorded now, sessions recorded before (duplicates) and the services derived
    from attended, billed sessions (issue 12)."""

    recorded: list[str]
    duplicates: list[str]
    services: list[str]
    version: int

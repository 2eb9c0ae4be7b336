"""Request and response bodies of the HTTP contract (API.md), each turned into one command."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.bounds import check_dates
from domain import commands as c
from domain.model import (
    Claim,
    Clinician,
    Department,
    Disposition,
    HoldReason,
    Patient,
    Payer,
    PriorAuthorization,
    RequestedAuthorization,
    Service,
    Setting,
    Urgency,
)
from domain.views import AuthorizationView, EpisodeSummary, EpisodeView
from workflows.models import LineOutcome

INTAKE_EXAMPLE: dict[str, Any] = {
    "episode_id": "ep-2026-0001",
    "patient": {
        "id": "P-100",
        "name": "Jane Roe",
        "birth_date": "1990-04-01",
        "member_id": "MCD123456",
        "address": {"line": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
    },
    "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
    "asam_edition": 3,
    "from_level": "2.5",
    "to_level": "2.1",
    "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
    "setting": "cmhc",
    "prior_authorization": {
        "number": "PHP-998",
        "level": "2.5",
        "start": "2026-11-02",
        "end": "2026-11-20",
    },
    "requested": {
        "start": "2026-11-23",
        "units": 20,
        "unit_type": "days",
        "service_codes": ["S9480"],
    },
    "urgency": "standard",
    "diagnoses": ["F33.1"],
    "php_last_claim_through": "2026-11-20",
    "attending": {"npi": "1234567893", "last_name": "Okafor", "first_name": "Ada"},
}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _dates_on_the_calendar(self) -> Body:
        # A date the rules cannot compute with is refused here, by name, never a 500 later.
        check_dates(self)
        return self


class IntakeRequest(Body):
    """An episode to open; `department` (on_campus by default) is an addition to API.md."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [INTAKE_EXAMPLE]})

    episode_id: str = Field(pattern=c.EPISODE_ID_PATTERN)
    patient: Patient
    payer: Payer
    asam_edition: int
    from_level: str = Field(max_length=8)
    to_level: str = Field(max_length=8)
    dimensions: dict[str, int] = Field(max_length=12)
    setting: Setting
    department: Department = "on_campus"
    prior_authorization: PriorAuthorization | None = None
    requested: RequestedAuthorization
    urgency: Urgency = "standard"
    diagnoses: list[str] = Field(min_length=1, max_length=25)
    php_last_claim_through: date | None = None
    # The attending clinician (837I 2310A): needed before a claim can be sent.
    attending: Clinician | None = None

    def command(self) -> c.OpenEpisode:
        return c.OpenEpisode.model_validate(self.model_dump())


class DischargeRequest(Body):
    date: date
    patient_status: str = Field(pattern=r"^\d{2}$", examples=["01"])
    disposition: Disposition
    to_level: str | None = Field(default=None, max_length=8)

    def command(self) -> c.Discharge:
        return c.Discharge.model_validate(self.model_dump())


class CancelRequest(Body):
    reason: str = Field(min_length=1, max_length=2000)

    def command(self) -> c.Cancel:
        return c.Cancel(reason=self.reason)


class RetryRequest(Body):
    failure_id: str | None = Field(default=None, min_length=1, max_length=200)

    def command(self, *, by: str) -> c.RetryFailedEffects:
        return c.RetryFailedEffects(failure_id=self.failure_id, by=by)


class InformationRequest(Body):
    """What was sent to the payer that pended the request (X12 A4) asking for information."""

    note: str = Field(min_length=1, max_length=2000)
    # Ids of the episode's attachments sent with the answer (GET /episodes/{id}/attachments).
    attachments: c.AttachmentIds = ()

    def command(self) -> c.ProvideInformation:
        return c.ProvideInformation(note=self.note, attachments=self.attachments)


class ServicesRequest(Body):
    services: list[Service] = Field(min_length=1, max_length=500)

    def command(self) -> c.RecordServices:
        return c.RecordServices(services=tuple(self.services))


class ClaimRequest(Body):
    claim_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["C-2026-11"])
    through: date

    def command(self) -> c.ReleaseClaim:
        return c.ReleaseClaim(claim_id=self.claim_id, through=self.through)


class ServicesResponse(BaseModel):
    """Per line: recorded now, recorded before (duplicates), or rejected with a reason."""

    accepted: list[str]
    duplicates: list[str]
    rejected: list[LineOutcome]
    warnings: list[LineOutcome]
    episode: EpisodeView


class ReleasedClaim(BaseModel):
    claim_id: str
    status: Literal["released"] = "released"
    claim: Claim
    # Lines left off because they can never bill as recorded; void or correct them.
    dropped: list[HoldReason] = []


class HeldClaim(BaseModel):
    claim_id: str
    status: Literal["held"] = "held"
    reasons: list[HoldReason]
    dropped: list[HoldReason] = []


class VoidServiceRequest(Body):
    """Why billing voids a recorded service (kept in the episode's history)."""

    reason: str = Field(min_length=1, max_length=2000)


class ExtensionNoticeRequest(Body):
    """A payer's notice extending its decision window (or an appeal's): moves the deadline."""

    scope: Literal["decision", "appeal"] = "decision"
    days: int | None = Field(default=None, ge=1, le=60)
    reason: str | None = Field(default=None, max_length=2000)

    def command(self) -> c.ExtendDecision:
        return c.ExtendDecision(scope=self.scope, days=self.days, reason=self.reason)


class CorrectServiceRequest(Body):
    """The whole corrected service; its service_id must be the one in the path."""

    reason: str = Field(min_length=1, max_length=2000)
    service: Service


class EpisodeOutcome(BaseModel):
    """What became of the episode a decision was applied to (api.inbox.outcome_of)."""

    state: str = Field(examples=["authorized"])
    version: int
    authorization: AuthorizationView | None


class WebhookAccepted(BaseModel):
    delivery_id: str
    episode_id: str | None
    status: Literal["applied", "queued", "duplicate"]
    episode: EpisodeOutcome | None = Field(
        default=None,
        description="the episode after the decision (absent while queued): no GET needed",
    )


class EpisodePage(BaseModel):
    episodes: list[EpisodeSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    checks: dict[str, str]

"""Commands: what intake, payers, billing, ops and the clock ask of an episode."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from domain.attendance import AttendanceEntry, ProgramSchedule
from domain.model import (
    Actor,
    Clinician,
    DeadlineKind,
    Department,
    Disposition,
    Frozen,
    Patient,
    Payer,
    PayerDecision,
    PriorAuthorization,
    RequestedAuthorization,
    Service,
    Setting,
    Urgency,
)
from domain.policy import PayerPolicy

EPISODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class OpenEpisode(Frozen):
    type: Literal["open_episode"] = "open_episode"
    episode_id: str = Field(pattern=EPISODE_ID_PATTERN)
    patient: Patient
    payer: Payer
    asam_edition: int
    from_level: str
    to_level: str
    dimensions: dict[str, int]
    setting: Setting
    department: Department = "on_campus"
    prior_authorization: PriorAuthorization | None = None
    requested: RequestedAuthorization
    urgency: Urgency = "standard"
    diagnoses: tuple[str, ...] = Field(min_length=1)
    php_last_claim_through: date | None = None
    # The attending clinician (837I 2310A); optional at intake, a claim is not sent without it.
    attending: Clinician | None = None
    # None: the plan type's default policy (domain.policy.default_policy).
    policy: PayerPolicy | None = None
    # Who asked (None in histories recorded before people had identities).
    actor: Actor | None = None


# Attachments of the episode (store/attachments.py ids) that go with a response to the payer;
# the API checks they belong to the episode before the command is sent.
MAX_ATTACHMENTS = 20
AttachmentIds = Annotated[
    tuple[Annotated[int, Field(ge=1, le=2**31 - 1)], ...], Field(max_length=MAX_ATTACHMENTS)
]


class ApplyPayerDecision(Frozen):
    type: Literal["apply_payer_decision"] = "apply_payer_decision"
    delivery_id: str = Field(min_length=1, max_length=128)
    decision: PayerDecision
    # The channel the answer came on: "pas" for a Da Vinci PAS ClaimResponse (a pend is then
    # followed up with `$inquire`, DOMAIN §8); None for answers recorded before this field.
    channel: Literal["webhook", "pas", "x12"] | None = None


class ProvideInformation(Frozen):
    type: Literal["provide_information"] = "provide_information"
    note: str = Field(min_length=1, max_length=2000)
    attachments: AttachmentIds = ()
    actor: Actor | None = None


class RequestP2P(Frozen):
    type: Literal["request_p2p"] = "request_p2p"
    attachments: AttachmentIds = ()
    actor: Actor | None = None


class ScheduleP2P(Frozen):
    type: Literal["schedule_p2p"] = "schedule_p2p"
    at: datetime
    reviewer: str | None = Field(default=None, max_length=200)
    actor: Actor | None = None


class RecordP2POutcome(Frozen):
    type: Literal["record_p2p_outcome"] = "record_p2p_outcome"
    outcome: Literal["overturned", "upheld"]
    reviewer: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    actor: Actor | None = None


class FileAppeal(Frozen):
    type: Literal["file_appeal"] = "file_appeal"
    level: Urgency = "standard"
    attachments: AttachmentIds = ()
    actor: Actor | None = None


class RecordAppealOutcome(Frozen):
    type: Literal["record_appeal_outcome"] = "record_appeal_outcome"
    outcome: Literal["overturned", "upheld"]
    actor: Actor | None = None


class RecordServices(Frozen):
    type: Literal["record_services"] = "record_services"
    services: tuple[Service, ...] = Field(min_length=1, max_length=500)
    actor: Actor | None = None


class ReleaseClaim(Frozen):
    type: Literal["release_claim"] = "release_claim"
    claim_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    through: date
    actor: Actor | None = None


class Discharge(Frozen):
    type: Literal["discharge"] = "discharge"
    date: date
    patient_status: str = Field(pattern=r"^\d{2}$")
    disposition: Disposition
    to_level: str | None = None
    actor: Actor | None = None


class Cancel(Frozen):
    type: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=1, max_length=2000)
    actor: Actor | None = None


class DeadlineReached(Frozen):
    type: Literal["deadline_reached"] = "deadline_reached"
    kind: DeadlineKind
    due: datetime


class RecordEffectFailure(Frozen):
    """From the workflow: an effect refused, or exhausted its retries; never from a person."""

    type: Literal["record_effect_failure"] = "record_effect_failure"
    kind: Literal["submit_request", "request_p2p", "deliver_claim", "notify", "inquire_payer"]
    key: str
    attempt: int = 0
    reason: str = Field(min_length=1, max_length=2000)
    detail: dict[str, Any] = {}
    # Names a failure reported after the effect had succeeded (a clearinghouse 999 that
    # rejects a 278 already written): each reference is one failure, whatever the attempt.
    reference: str | None = Field(default=None, max_length=200)


class RetryFailedEffects(Frozen):
    """Ops: carry out again one failed effect (`failure_id`) or every open one (None)."""

    type: Literal["retry_failed_effects"] = "retry_failed_effects"
    failure_id: str | None = Field(default=None, min_length=1, max_length=200)
    by: str = Field(default="", max_length=200)


# ---- added by issue 12 ----------------------------------------------------------------------


class VoidService(Frozen):
    type: Literal["void_service"] = "void_service"
    service_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class CorrectService(Frozen):
    type: Literal["correct_service"] = "correct_service"
    service: Service
    reason: str = Field(min_length=1, max_length=2000)


class ExtendDecision(Frozen):
    """The payer's extension notice: `days` more for its decision (or the appeal's); None
    takes the most the payer's policy allows."""

    type: Literal["extend_decision"] = "extend_decision"
    scope: Literal["decision", "appeal"] = "decision"
    days: int | None = Field(default=None, ge=1, le=60)
    reason: str | None = Field(default=None, max_length=2000)


class SetSchedule(Frozen):
    type: Literal["set_schedule"] = "set_schedule"
    schedule: ProgramSchedule


class RecordAttendance(Frozen):
    type: Literal["record_attendance"] = "record_attendance"
    sessions: tuple[AttendanceEntry, ...] = Field(min_length=1, max_length=500)


Command = Annotated[
    OpenEpisode
    | ApplyPayerDecision
    | ProvideInformation
    | RequestP2P
    | ScheduleP2P
    | RecordP2POutcome
    | FileAppeal
    | RecordAppealOutcome
    | RecordServices
    | ReleaseClaim
    | Discharge
    | Cancel
    | DeadlineReached
    | RecordEffectFailure
    | RetryFailedEffects
    | VoidService
    | CorrectService
    | ExtendDecision
    | SetSchedule
    | RecordAttendance,
    Field(discriminator="type"),
]

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)

"""Domain events: immutable facts about one episode, folded by `evolve` into its state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from domain.attendance import AttendanceEntry, AttendanceSummary, ProgramSchedule
from domain.model import (
    Actor,
    Authorization,
    Claim,
    Clinician,
    Department,
    Disposition,
    Frozen,
    HoldReason,
    Patient,
    Payer,
    PriorAuthorization,
    RequestedAuthorization,
    ReviewAction,
    Service,
    Setting,
    Urgency,
)
from domain.policy import PayerPolicy

RequestPurpose = Literal["initial", "extension", "reversal"]

# The shape of the events this release writes (STYLE habit 5). Events are never rewritten:
# an event of an older shape — stored, or carried across continue-as-new — is upcast when it
# is read, one version at a time. A field added with a default needs no new version.
#   2: episode_opened's `prior_authorization` (the authorization of the level the patient
#      steps down from) is `stepped_down_from`, apart from a claim's prior-authorization
#      number (REF*G1, `Claim.prior_authorization`).
EVENT_SCHEMA = 2


def _opened_v1(data: dict[str, Any]) -> dict[str, Any]:
    if "prior_authorization" not in data:
        return data
    renamed = {k: v for k, v in data.items() if k != "prior_authorization"}
    return {**renamed, "stepped_down_from": data["prior_authorization"]}


# (event type, version) -> the step from that version to the next.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("episode_opened", 1): _opened_v1,
}


def upcast(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` of an event of type `kind` in this release's shape; events written before
    versions were stored carry none and are version 1."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or not 1 <= version <= EVENT_SCHEMA:
        raise ValueError(f"{kind} schema_version {version!r} is not one this release reads")
    while version < EVENT_SCHEMA:
        step = UPCASTERS.get((kind, version))
        data = step(data) if step else data
        version += 1
    return {**data, "schema_version": EVENT_SCHEMA}


class EventBase(Frozen):
    at: datetime
    # The person whose command produced the event; None for the payer, the clock and
    # events recorded before people had identities.
    actor: Actor | None = None
    schema_version: int = EVENT_SCHEMA

    @model_validator(mode="before")
    @classmethod
    def _upcast(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("type") or cls.model_fields["type"].default
        return upcast(kind, data)


class EpisodeOpened(EventBase):
    type: Literal["episode_opened"] = "episode_opened"
    episode_id: str
    patient: Patient
    payer: Payer
    policy: PayerPolicy
    asam_edition: int
    from_level: str
    to_level: str
    dimensions: dict[str, int]
    setting: Setting
    department: Department = "on_campus"
    # The authorization of the level the patient steps down from (OpenEpisode's
    # `prior_authorization`, API.md); schema 1 named it so too.
    stepped_down_from: PriorAuthorization | None = None
    requested: RequestedAuthorization
    urgency: Urgency
    diagnoses: tuple[str, ...]
    php_last_claim_through: date | None = None
    attending: Clinician | None = None


class AuthorizationRequested(EventBase):
    type: Literal["authorization_requested"] = "authorization_requested"
    trace_number: str
    purpose: RequestPurpose
    decision_due: datetime
    units: int
    reason: str = ""
    # Evidence a payer asks for in a concurrent review: weeks attended below the level's
    # minimum hours (issue 12). Empty on requests recorded before this field.
    attendance: tuple[str, ...] = ()
    # The full evidence of an extension request: days and hours attended, missed sessions,
    # units used of the authorization extended. None without recorded attendance.
    attendance_summary: AttendanceSummary | None = None


class DecisionOverdue(EventBase):
    type: Literal["decision_overdue"] = "decision_overdue"
    trace_number: str
    escalation: int
    next_due: datetime | None


class InformationRequested(EventBase):
    type: Literal["information_requested"] = "information_requested"
    trace_number: str
    delivery_id: str
    reference: str | None
    reason: str | None
    respond_by: datetime
    # A Da Vinci PAS pend (DOMAIN §8): the first `$inquire` and the deadline that ends them.
    next_inquiry: datetime | None = None
    inquire_until: datetime | None = None


class PayerInquired(EventBase):
    """The clock asked the payer again about a pended request (`Claim/$inquire`); the answer
    comes back through the webhook inbox like any decision."""

    type: Literal["payer_inquired"] = "payer_inquired"
    trace_number: str
    purpose: RequestPurpose
    # 1 for the first inquiry about this request, then 2, 3 …
    inquiry: int
    units: int = 0
    # The next inquiry; None once the deadline is reached.
    next_due: datetime | None = None


class InformationOverdue(EventBase):
    type: Literal["information_overdue"] = "information_overdue"
    trace_number: str


class InformationProvided(EventBase):
    type: Literal["information_provided"] = "information_provided"
    trace_number: str
    note: str
    decision_due: datetime
    # Attachment ids sent with the response (none on events recorded before attachments).
    attachments: tuple[int, ...] = ()


class AuthorizationGranted(EventBase):
    type: Literal["authorization_granted"] = "authorization_granted"
    trace_number: str
    delivery_id: str
    action: ReviewAction
    authorization: Authorization
    requested_units: int
    purpose: RequestPurpose
    ends_at: datetime
    review_due: datetime | None = None


class AuthorizationDenied(EventBase):
    type: Literal["authorization_denied"] = "authorization_denied"
    trace_number: str
    delivery_id: str
    purpose: RequestPurpose
    reason_code: str | None
    reason: str | None
    deemed: bool = False
    p2p_window_closes: datetime
    appeal_filing_due: datetime


class PayerNotice(EventBase):
    """CT (contact payer) and NA (no action required): recorded, shown, nothing decided."""

    type: Literal["payer_notice"] = "payer_notice"
    trace_number: str
    delivery_id: str
    action: ReviewAction
    reason: str | None


class RequestCancelledByPayer(EventBase):
    type: Literal["request_cancelled_by_payer"] = "request_cancelled_by_payer"
    trace_number: str
    delivery_id: str
    reason: str | None


class P2PRequested(EventBase):
    type: Literal["p2p_requested"] = "p2p_requested"
    request_key: str
    attachments: tuple[int, ...] = ()


class P2PScheduled(EventBase):
    type: Literal["p2p_scheduled"] = "p2p_scheduled"
    call_at: datetime
    outcome_due: datetime
    reviewer: str | None = None


class P2PCallMissed(EventBase):
    type: Literal["p2p_call_missed"] = "p2p_call_missed"
    missed_calls: int


class P2PDecided(EventBase):
    type: Literal["p2p_decided"] = "p2p_decided"
    outcome: Literal["overturned", "upheld"]
    deemed: bool = False
    reviewer: str | None = None
    notes: str | None = None
    authorization_due: datetime | None = None
    appeal_filing_due: datetime | None = None


class P2PWindowClosed(EventBase):
    type: Literal["p2p_window_closed"] = "p2p_window_closed"


class AppealFiled(EventBase):
    type: Literal["appeal_filed"] = "appeal_filed"
    level: Urgency
    decision_due: datetime
    attachments: tuple[int, ...] = ()


class AppealDecisionOverdue(EventBase):
    type: Literal["appeal_decision_overdue"] = "appeal_decision_overdue"


class AppealDecided(EventBase):
    type: Literal["appeal_decided"] = "appeal_decided"
    outcome: Literal["overturned", "upheld"]
    authorization_due: datetime | None = None


class DenialFinal(EventBase):
    """The appeal filing window closed with no appeal: the denial stands."""

    type: Literal["denial_final"] = "denial_final"


class AuthorizationEnded(EventBase):
    type: Literal["authorization_ended"] = "authorization_ended"
    number: str
    status: Literal["expired", "exhausted"]


class ServicesRecorded(EventBase):
    type: Literal["services_recorded"] = "services_recorded"
    services: tuple[Service, ...]
    warnings: tuple[str, ...] = ()


class ClaimReleased(EventBase):
    type: Literal["claim_released"] = "claim_released"
    claim_id: str
    claim: Claim
    service_ids: tuple[str, ...]
    was_held: bool = False
    # Lines that can never bill as recorded, left off this claim with their reason (§6–§7).
    dropped: tuple[HoldReason, ...] = ()


class ClaimHeld(EventBase):
    type: Literal["claim_held"] = "claim_held"
    claim_id: str
    through: date
    service_ids: tuple[str, ...]
    reasons: tuple[HoldReason, ...]
    dropped: tuple[HoldReason, ...] = ()
    # A held replacement: its lines join those of this released claim when it goes (freq. 7).
    replaces: str | None = None


class Discharged(EventBase):
    type: Literal["discharged"] = "discharged"
    date: date
    patient_status: str
    disposition: Disposition
    to_level: str | None = None


class EpisodeClosed(EventBase):
    type: Literal["episode_closed"] = "episode_closed"
    reason: str


class EpisodeCancelled(EventBase):
    type: Literal["episode_cancelled"] = "episode_cancelled"
    reason: str


# -- effects that could not be carried out (issue: effects never stop an episode) ----------

EffectKind = Literal["submit_request", "request_p2p", "deliver_claim", "notify", "inquire_payer"]


class SubmissionFailed(EventBase):
    """A payer submission (request or P2P) refused by the payer or undeliverable after retries."""

    type: Literal["submission_failed"] = "submission_failed"
    failure_id: str
    kind: EffectKind
    key: str
    purpose: str
    reason: str
    attempt: int = 0
    detail: dict[str, Any] = {}


class ClaimDeliveryFailed(EventBase):
    type: Literal["claim_delivery_failed"] = "claim_delivery_failed"
    failure_id: str
    kind: EffectKind = "deliver_claim"
    key: str
    reason: str
    attempt: int = 0
    detail: dict[str, Any] = {}


class NotificationDropped(EventBase):
    type: Literal["notification_dropped"] = "notification_dropped"
    failure_id: str
    kind: EffectKind = "notify"
    key: str
    reason: str
    attempt: int = 0
    detail: dict[str, Any] = {}


class EffectRetried(EventBase):
    """Ops asked for a failed effect to be carried out again; `attempt` keys the new try."""

    type: Literal["effect_retried"] = "effect_retried"
    failure_id: str
    kind: EffectKind
    key: str
    attempt: int
    detail: dict[str, Any] = {}
    by: str = ""
    # A resent payer request starts the payer's clock again (it never reached the payer).
    decision_due: datetime | None = None


EffectFailed = SubmissionFailed | ClaimDeliveryFailed | NotificationDropped

# ---- added by issue 12: void/correct a service, one claim per month -------------------------


class ServiceVoided(EventBase):
    """Billing voided a recorded service: it stays in the history but never bills."""

    type: Literal["service_voided"] = "service_voided"
    service_id: str
    reason: str


class ServiceCorrected(EventBase):
    """Billing corrected a recorded, unreleased service: `service` replaces it."""

    type: Literal["service_corrected"] = "service_corrected"
    service: Service
    reason: str


class ClaimSuperseded(EventBase):
    """A held month claim whose lines moved into a newer request for the same month."""

    type: Literal["claim_superseded"] = "claim_superseded"
    claim_id: str
    by: str


class DecisionExtended(EventBase):
    """The payer's notice that it extends its decision window (§3) or an appeal's (§4): the
    deadline moves, nothing is decided."""

    type: Literal["decision_extended"] = "decision_extended"
    scope: Literal["decision", "appeal"]
    days: int
    due: datetime
    reason: str | None = None
    # Set when the notice came in the payer's own answer (a pended decision with extension
    # days), so a redelivery of that answer changes nothing; empty when ops recorded it.
    delivery_id: str = ""
    trace_number: str = ""


class ScheduleSet(EventBase):
    type: Literal["schedule_set"] = "schedule_set"
    schedule: ProgramSchedule


class AttendanceRecorded(EventBase):
    type: Literal["attendance_recorded"] = "attendance_recorded"
    sessions: tuple[AttendanceEntry, ...]


Event = Annotated[
    EpisodeOpened
    | AuthorizationRequested
    | DecisionOverdue
    | InformationRequested
    | PayerInquired
    | InformationOverdue
    | InformationProvided
    | AuthorizationGranted
    | AuthorizationDenied
    | PayerNotice
    | RequestCancelledByPayer
    | P2PRequested
    | P2PScheduled
    | P2PCallMissed
    | P2PDecided
    | P2PWindowClosed
    | AppealFiled
    | AppealDecisionOverdue
    | AppealDecided
    | DenialFinal
    | AuthorizationEnded
    | ServicesRecorded
    | ClaimReleased
    | ClaimHeld
    | Discharged
    | EpisodeClosed
    | EpisodeCancelled
    | SubmissionFailed
    | ClaimDeliveryFailed
    | NotificationDropped
    | EffectRetried
    | ServiceVoided
    | ServiceCorrected
    | ClaimSuperseded
    | DecisionExtended
    | ScheduleSet
    | AttendanceRecorded,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

"""`evolve`: apply one event to the episode state; total, pure, one small function per event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from domain import events as ev
from domain.model import DEADLINE_KINDS, DeadlineKind
from domain.state import (
    ClaimRecord,
    Denial,
    DischargeInfo,
    EffectFailure,
    Episode,
    EpisodeChanges,
    PendingRequest,
    live_authorizations,
)

Handler = Callable[[Episode, Any], EpisodeChanges]


Deadlines = dict[DeadlineKind, datetime]


def _without(deadlines: Deadlines, *kinds: DeadlineKind) -> Deadlines:
    return {k: v for k, v in deadlines.items() if k not in kinds}


def _with(deadlines: Deadlines, **due: datetime | None) -> Deadlines:
    """`deadlines` with each keyword's kind set to its time (None removes it)."""
    unknown = due.keys() - DEADLINE_KINDS
    if unknown:
        raise TypeError(f"no deadline kind named {sorted(unknown)}")
    kinds = cast(dict[DeadlineKind, datetime | None], due)
    out = _without(deadlines, *kinds)
    out.update({k: v for k, v in kinds.items() if v is not None})
    return out


# Deadlines that only make sense while a payer request or a denial is open.
_REQUEST_DEADLINES: tuple[DeadlineKind, ...] = (
    "payer_decision_due",
    "info_response_due",
    "payer_inquiry_due",
)
_DENIAL_DEADLINES: tuple[DeadlineKind, ...] = (
    "p2p_window_closes",
    "p2p_outcome_due",
    "appeal_filing_due",
)


def _opened(s: Episode, e: ev.EpisodeOpened) -> EpisodeChanges:
    return {"episode_id": e.episode_id, "opened": e, "status": "referred"}


def _requested(s: Episode, e: ev.AuthorizationRequested) -> EpisodeChanges:
    pending = PendingRequest(
        trace_number=e.trace_number,
        purpose=e.purpose,
        decision_due=e.decision_due,
        units=e.units,
        requested_on=e.at.date(),
    )
    fields: EpisodeChanges = {
        "pending": pending,
        "request_count": s.request_count + 1,
        "trace_numbers": (*s.trace_numbers, e.trace_number),
        "deadlines": _with(
            _without(s.deadlines, "concurrent_review_due"), payer_decision_due=e.decision_due
        ),
    }
    if e.purpose != "extension":
        fields["status"] = "auth_requested"
    return fields


def _overdue(s: Episode, e: ev.DecisionOverdue) -> EpisodeChanges:
    assert s.pending is not None
    pending = s.pending.model_copy(update={"escalations": e.escalation})
    deadlines = _with(s.deadlines, payer_decision_due=e.next_due)
    if e.next_due is None:
        deadlines = _without(deadlines, "payer_decision_due")
    return {"pending": pending, "deadlines": deadlines}


def _info_requested(s: Episode, e: ev.InformationRequested) -> EpisodeChanges:
    deadlines = _with(_without(s.deadlines, "payer_decision_due"), info_response_due=e.respond_by)
    assert s.pending is not None
    update: dict[str, Any] = {"awaiting_information": True}
    if e.next_inquiry is not None:
        deadlines = _with(deadlines, payer_inquiry_due=e.next_inquiry)
        update["inquire_until"] = e.inquire_until
    fields: EpisodeChanges = {
        "deadlines": deadlines,
        "delivery_ids": s.delivery_ids | {e.delivery_id},
        "pending": s.pending.model_copy(update=update),
    }
    if s.pending.purpose != "extension":
        fields["status"] = "info_requested"
    return fields


def _inquired(s: Episode, e: ev.PayerInquired) -> EpisodeChanges:
    assert s.pending is not None
    pending = s.pending.model_copy(update={"inquiries": e.inquiry})
    deadlines = _without(s.deadlines, "payer_inquiry_due")
    if e.next_due is not None:
        deadlines = _with(deadlines, payer_inquiry_due=e.next_due)
    return {"pending": pending, "deadlines": deadlines}


def _info_overdue(s: Episode, e: ev.InformationOverdue) -> EpisodeChanges:
    return {"deadlines": _without(s.deadlines, "info_response_due")}


def _info_provided(s: Episode, e: ev.InformationProvided) -> EpisodeChanges:
    assert s.pending is not None
    pending = s.pending.model_copy(
        update={"decision_due": e.decision_due, "escalations": 0, "awaiting_information": False}
    )
    deadlines = _with(_without(s.deadlines, "info_response_due"), payer_decision_due=e.decision_due)
    status = "auth_requested" if pending.purpose != "extension" else s.status
    return {"pending": pending, "deadlines": deadlines, "status": status}


def _granted(s: Episode, e: ev.AuthorizationGranted) -> EpisodeChanges:
    auth = e.authorization
    kept = tuple(a for a in s.authorizations if a.number != auth.number)
    authorizations = tuple(sorted((*kept, auth), key=lambda a: (a.start, a.number)))
    ended = {k: v for k, v in s.ended_authorizations.items() if k != auth.number}
    deadlines = _without(
        s.deadlines, *_REQUEST_DEADLINES, *_DENIAL_DEADLINES, "appeal_decision_due"
    )
    ends = max(e.ends_at, s.deadlines.get("authorization_ends", e.ends_at))
    if s.discharge is None:
        deadlines = _with(deadlines, authorization_ends=ends, concurrent_review_due=e.review_due)
    return {
        "authorizations": authorizations,
        "ended_authorizations": ended,
        "pending": None,
        "denial": None,
        # An approval after discharge still counts (issue 12); the episode stays discharged.
        "status": "authorized" if s.discharge is None else "discharged",
        "deadlines": deadlines,
        "delivery_ids": s.delivery_ids | {e.delivery_id},
    }


def _denied(s: Episode, e: ev.AuthorizationDenied) -> EpisodeChanges:
    denial = Denial(
        at=e.at,
        purpose=e.purpose,
        reason_code=e.reason_code,
        reason=e.reason,
        deemed=e.deemed,
        p2p_window_closes=e.p2p_window_closes,
        appeal_filing_due=e.appeal_filing_due,
    )
    deadlines = _with(
        _without(s.deadlines, *_REQUEST_DEADLINES),
        p2p_window_closes=e.p2p_window_closes,
        appeal_filing_due=e.appeal_filing_due,
    )
    delivery_ids = s.delivery_ids | ({e.delivery_id} if e.delivery_id else set())
    return {
        "denial": denial,
        "pending": None,
        "status": "denied",
        "deadlines": deadlines,
        "delivery_ids": delivery_ids,
        "p2p_requested": False,
        "p2p_call_at": None,
        "p2p_missed_calls": 0,
        "p2p_outcome": None,
        "appeal_level": None,
        "appeal_outcome": None,
    }


def _notice(s: Episode, e: ev.PayerNotice) -> EpisodeChanges:
    text = f"{e.action}: {e.reason or 'no reason given'}"
    return {"delivery_ids": s.delivery_ids | {e.delivery_id}, "notices": (*s.notices, text)}


def _payer_cancelled(s: Episode, e: ev.RequestCancelledByPayer) -> EpisodeChanges:
    fields: EpisodeChanges = {
        "pending": None,
        "delivery_ids": s.delivery_ids | {e.delivery_id},
        "deadlines": _without(s.deadlines, *_REQUEST_DEADLINES),
    }
    if s.pending is not None and s.pending.purpose == "extension":
        return fields
    return {
        **fields,
        "status": "cancelled",
        "closed_reason": e.reason or "cancelled by payer",
        "deadlines": {},
    }


def _p2p_requested(s: Episode, e: ev.P2PRequested) -> EpisodeChanges:
    return {"p2p_requested": True, "status": "p2p_requested"}


def _p2p_scheduled(s: Episode, e: ev.P2PScheduled) -> EpisodeChanges:
    deadlines = _with(_without(s.deadlines, "p2p_window_closes"), p2p_outcome_due=e.outcome_due)
    return {"p2p_call_at": e.call_at, "status": "p2p_scheduled", "deadlines": deadlines}


def _p2p_missed(s: Episode, e: ev.P2PCallMissed) -> EpisodeChanges:
    return {
        "p2p_missed_calls": e.missed_calls,
        "p2p_call_at": None,
        "status": "p2p_requested",
        "deadlines": _without(s.deadlines, "p2p_outcome_due"),
    }


def _p2p_decided(s: Episode, e: ev.P2PDecided) -> EpisodeChanges:
    deadlines = _without(s.deadlines, "p2p_outcome_due", "p2p_window_closes")
    fields: EpisodeChanges = {"p2p_outcome": e.outcome, "p2p_call_at": None}
    if e.outcome == "overturned":
        assert e.authorization_due is not None
        return {**fields, **_awaiting_reversal(s, e.authorization_due, deadlines)}
    deadlines = _with(deadlines, appeal_filing_due=e.appeal_filing_due)
    return {**fields, "status": "denied", "deadlines": deadlines}


def _awaiting_reversal(s: Episode, due: datetime, deadlines: Deadlines) -> EpisodeChanges:
    """After an overturn the payer owes the authorization on the same trace number."""
    assert s.opened is not None
    pending = PendingRequest(
        trace_number=s.trace_numbers[-1],
        purpose="reversal",
        decision_due=due,
        units=s.opened.requested.units,
    )
    deadlines = _with(_without(deadlines, "appeal_filing_due"), payer_decision_due=due)
    return {"pending": pending, "status": "auth_requested", "deadlines": deadlines}


def _p2p_window_closed(s: Episode, e: ev.P2PWindowClosed) -> EpisodeChanges:
    fields: EpisodeChanges = {"deadlines": _without(s.deadlines, "p2p_window_closes")}
    if s.status == "p2p_requested" and s.p2p_call_at is None:
        # A requested P2P that was never scheduled lapses; the denial (and the appeal) remain.
        fields["status"] = "denied"
    return fields


def _appeal_filed(s: Episode, e: ev.AppealFiled) -> EpisodeChanges:
    deadlines = _with(_without(s.deadlines, *_DENIAL_DEADLINES), appeal_decision_due=e.decision_due)
    return {
        "appeal_level": e.level,
        "status": "appeal",
        "deadlines": deadlines,
        "appeal_extended": False,
    }


def _appeal_overdue(s: Episode, e: ev.AppealDecisionOverdue) -> EpisodeChanges:
    return {"deadlines": _without(s.deadlines, "appeal_decision_due")}


def _appeal_decided(s: Episode, e: ev.AppealDecided) -> EpisodeChanges:
    deadlines = _without(s.deadlines, "appeal_decision_due")
    if e.outcome == "overturned":
        assert e.authorization_due is not None
        fields = _awaiting_reversal(s, e.authorization_due, deadlines)
        return {"appeal_outcome": e.outcome, **fields}
    if s.discharge is not None:
        return {"appeal_outcome": e.outcome, "deadlines": deadlines, "status": "discharged"}
    if live_authorizations(s):
        # The denial stands for the extension; the current authorization runs to its end.
        return {"appeal_outcome": e.outcome, "deadlines": deadlines, "status": "authorized"}
    return {"appeal_outcome": e.outcome, "deadlines": deadlines}


def _denial_final(s: Episode, e: ev.DenialFinal) -> EpisodeChanges:
    deadlines = _without(s.deadlines, *_DENIAL_DEADLINES)
    if s.discharge is not None:
        return {"status": "discharged", "deadlines": deadlines}
    if live_authorizations(s):
        # An extension was denied but the current authorization still runs to its end.
        return {"status": "authorized", "deadlines": deadlines}
    return {"status": "closed", "closed_reason": "denial final: no appeal filed", "deadlines": {}}


def _auth_ended(s: Episode, e: ev.AuthorizationEnded) -> EpisodeChanges:
    ended = {**s.ended_authorizations, e.number: e.status}
    fields: EpisodeChanges = {"ended_authorizations": ended}
    if not [a for a in s.authorizations if a.number not in ended]:
        fields["deadlines"] = _without(s.deadlines, "authorization_ends", "concurrent_review_due")
        if s.status == "authorized":
            fields["status"] = "expired"
    return fields


def _services(s: Episode, e: ev.ServicesRecorded) -> EpisodeChanges:
    return {"services": {**s.services, **{x.service_id: x for x in e.services}}}


def _released(s: Episode, e: ev.ClaimReleased) -> EpisodeChanges:
    record = ClaimRecord(
        claim_id=e.claim_id,
        status="released",
        through=e.claim.through,
        service_ids=e.service_ids,
        claim=e.claim,
        dropped=e.dropped,
        replaces=e.claim.replaces,
    )
    return {"claims": {**s.claims, e.claim_id: record}}


def _held(s: Episode, e: ev.ClaimHeld) -> EpisodeChanges:
    record = ClaimRecord(
        claim_id=e.claim_id,
        status="held",
        through=e.through,
        service_ids=e.service_ids,
        reasons=e.reasons,
        dropped=e.dropped,
        replaces=e.replaces,
    )
    return {"claims": {**s.claims, e.claim_id: record}}


def _decision_extended(s: Episode, e: ev.DecisionExtended) -> EpisodeChanges:
    if e.scope == "appeal":
        return {"appeal_extended": True, "deadlines": _with(s.deadlines, appeal_decision_due=e.due)}
    assert s.pending is not None
    pending = s.pending.model_copy(update={"decision_due": e.due, "extended": True})
    delivered = s.delivery_ids | ({e.delivery_id} if e.delivery_id else set())
    return {
        "pending": pending,
        "deadlines": _with(s.deadlines, payer_decision_due=e.due),
        "delivery_ids": delivered,
    }


def _schedule_set(s: Episode, e: ev.ScheduleSet) -> EpisodeChanges:
    return {"schedule": e.schedule}


def _attendance(s: Episode, e: ev.AttendanceRecorded) -> EpisodeChanges:
    return {"attendance": {**s.attendance, **{x.session_id: x for x in e.sessions}}}


def _superseded(s: Episode, e: ev.ClaimSuperseded) -> EpisodeChanges:
    old = s.claims[e.claim_id]
    record = old.model_copy(update={"status": "superseded", "superseded_by": e.by or None})
    return {"claims": {**s.claims, e.claim_id: record}}


def _voided(s: Episode, e: ev.ServiceVoided) -> EpisodeChanges:
    services = {k: v for k, v in s.services.items() if k != e.service_id}
    return {"services": services, "voided_services": {**s.voided_services, e.service_id: e.reason}}


def _corrected(s: Episode, e: ev.ServiceCorrected) -> EpisodeChanges:
    return {"services": {**s.services, e.service.service_id: e.service}}


def _discharged(s: Episode, e: ev.Discharged) -> EpisodeChanges:
    info = DischargeInfo(
        date=e.date, patient_status=e.patient_status, disposition=e.disposition, to_level=e.to_level
    )
    # Issue 12: an answer still owed by the payer (a pending request, a denial's windows, an
    # appeal) survives discharge — an approval after discharge still counts; only the
    # coverage timers (review, authorization end) stop.
    deadlines = _without(s.deadlines, "concurrent_review_due", "authorization_ends")
    return {"discharge": info, "status": "discharged", "deadlines": deadlines}


def _closed(s: Episode, e: ev.EpisodeClosed) -> EpisodeChanges:
    return {"status": "closed", "closed_reason": e.reason, "deadlines": {}, "pending": None}


def _cancelled(s: Episode, e: ev.EpisodeCancelled) -> EpisodeChanges:
    return {"status": "cancelled", "closed_reason": e.reason, "deadlines": {}, "pending": None}


def _failure_of(e: ev.EffectFailed) -> EffectFailure:
    return EffectFailure(
        failure_id=e.failure_id,
        kind=e.kind,
        key=e.key,
        reason=e.reason,
        at=e.at,
        attempt=e.attempt,
        detail=e.detail,
    )


def _effect_failed(s: Episode, e: ev.EffectFailed) -> EpisodeChanges:
    fields: EpisodeChanges = {"failures": {**s.failures, e.failure_id: _failure_of(e)}}
    p = s.pending
    if e.kind == "submit_request" and p is not None and p.trace_number == e.key:
        # The payer never got the request: its decision clock is not running.
        fields["pending"] = p.model_copy(update={"undelivered": e.reason})
        fields["deadlines"] = _without(s.deadlines, "payer_decision_due")
    return fields


def _effect_retried(s: Episode, e: ev.EffectRetried) -> EpisodeChanges:
    failure = s.failures[e.failure_id].model_copy(update={"open": False})
    fields: EpisodeChanges = {"failures": {**s.failures, e.failure_id: failure}}
    p = s.pending
    if e.decision_due is not None and p is not None and p.trace_number == e.key:
        fields["pending"] = p.model_copy(
            update={"undelivered": None, "decision_due": e.decision_due}
        )
        fields["deadlines"] = _with(s.deadlines, payer_decision_due=e.decision_due)
    return fields


_HANDLERS: dict[type[Any], Handler] = {
    ev.EpisodeOpened: _opened,
    ev.AuthorizationRequested: _requested,
    ev.DecisionOverdue: _overdue,
    ev.InformationRequested: _info_requested,
    ev.PayerInquired: _inquired,
    ev.InformationOverdue: _info_overdue,
    ev.InformationProvided: _info_provided,
    ev.AuthorizationGranted: _granted,
    ev.AuthorizationDenied: _denied,
    ev.PayerNotice: _notice,
    ev.RequestCancelledByPayer: _payer_cancelled,
    ev.P2PRequested: _p2p_requested,
    ev.P2PScheduled: _p2p_scheduled,
    ev.P2PCallMissed: _p2p_missed,
    ev.P2PDecided: _p2p_decided,
    ev.P2PWindowClosed: _p2p_window_closed,
    ev.AppealFiled: _appeal_filed,
    ev.AppealDecisionOverdue: _appeal_overdue,
    ev.AppealDecided: _appeal_decided,
    ev.DenialFinal: _denial_final,
    ev.AuthorizationEnded: _auth_ended,
    ev.ServicesRecorded: _services,
    ev.ClaimReleased: _released,
    ev.ClaimHeld: _held,
    ev.Discharged: _discharged,
    ev.EpisodeClosed: _closed,
    ev.EpisodeCancelled: _cancelled,
    ev.SubmissionFailed: _effect_failed,
    ev.ClaimDeliveryFailed: _effect_failed,
    ev.NotificationDropped: _effect_failed,
    ev.EffectRetried: _effect_retried,
    ev.ServiceVoided: _voided,
    ev.ServiceCorrected: _corrected,
    ev.ClaimSuperseded: _superseded,
    ev.DecisionExtended: _decision_extended,
    ev.ScheduleSet: _schedule_set,
    ev.AttendanceRecorded: _attendance,
}


_EPISODE_FIELDS = frozenset(Episode.model_fields) - {"version"}


def evolve(state: Episode, event: ev.Event) -> Episode:
    """The state after `event`; `version` counts every event applied."""
    fields = _HANDLERS[type(event)](state, event)
    unknown = fields.keys() - _EPISODE_FIELDS
    if unknown:
        # model_copy would set them silently; a handler naming no field of Episode is a bug.
        raise TypeError(f"{type(event).__name__} changes no field named {sorted(unknown)}")
    return state.model_copy(update={**fields, "version": state.version + 1})


def fold(events: Iterable[ev.Event], state: Episode | None = None) -> Episode:
    current = state if state is not None else Episode()
    for event in events:
        current = evolve(current, event)
    return current

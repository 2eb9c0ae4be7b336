"""Decisions for opening an episode and for applying a payer's answer (§2–§4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import events as ev
from domain.attendance import MIN_HOURS_PER_WEEK, AttendanceSummary, summarize, weeks_below
from domain.claims import Released, close_if_done, regate, released_claim_event
from domain.codes import KNOWN_CODES, REVENUE_CODES
from domain.commands import ApplyPayerDecision, ExtendDecision, OpenEpisode, ProvideInformation
from domain.decide_windows import extend_decision
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.holds import never_billable
from domain.intake import intake_problems
from domain.ledger import ledger
from domain.model import Authorization, PayerDecision, Service
from domain.policy import default_policy
from domain.state import ClaimRecord, Episode, PendingRequest, live_authorizations
from domain.timing import decision_due, ends_at, extension_decision_due, review_due, trace_number


def opened_event(cmd: OpenEpisode, at: datetime) -> ev.EpisodeOpened:
    fields = cmd.model_dump(exclude={"type", "policy"})
    policy = cmd.policy or default_policy(cmd.payer.plan_type)
    return ev.EpisodeOpened.model_validate({**fields, "policy": policy, "at": at})


def open_episode(state: Episode, cmd: OpenEpisode, now: datetime) -> list[ev.Event]:
    if state.opened is not None:
        # The same details from another person are the same episode, not a conflict.
        again = opened_event(cmd, state.opened.at).model_copy(update={"actor": state.opened.actor})
        if again != state.opened:
            raise Rejected("conflict", f"episode {cmd.episode_id} was opened with other details")
        return []
    problems = intake_problems(cmd, now, KNOWN_CODES | set(REVENUE_CODES))
    if problems:
        raise Rejected("invalid_input", problems)
    opened = opened_event(cmd, now)
    if not opened.policy.requires_authorization:
        return [opened, *_self_pay_coverage(opened, now)]
    request = ev.AuthorizationRequested(
        at=now,
        trace_number=trace_number(cmd.episode_id, 1),
        purpose="initial",
        decision_due=decision_due(opened.policy, cmd.urgency, now),
        units=cmd.requested.units,
    )
    return [opened, request]


def _self_pay_coverage(opened: ev.EpisodeOpened, now: datetime) -> list[ev.Event]:
    """Self-pay needs no payer authorization; the provider's own plan of care covers a year."""
    req = opened.requested
    auth = Authorization(
        number="SELF-PAY",
        start=req.start,
        end=req.start + timedelta(days=364),
        units=req.units,
        unit_type=req.unit_type,
        service_codes=req.service_codes,
    )
    granted = ev.AuthorizationGranted(
        at=now,
        trace_number="",
        delivery_id="",
        action="NA",
        authorization=auth,
        requested_units=req.units,
        purpose="initial",
        ends_at=ends_at(auth),
    )
    return [granted]


def apply_decision(state: Episode, cmd: ApplyPayerDecision, now: datetime) -> list[ev.Event]:
    if state.is_open and cmd.delivery_id in state.delivery_ids:
        return []
    require_active(state)
    pending = _pending_for(state, cmd.decision)
    d, delivery = cmd.decision, cmd.delivery_id
    trace, purpose = pending.trace_number, pending.purpose
    policy = state.policy
    if d.extension_days is not None:
        return _extension_notice(state, cmd, now)
    if d.action in ("A1", "A2", "A6"):
        return _grant(state, pending, cmd, now)
    if d.action == "A3":
        return [
            ev.AuthorizationDenied(
                at=now,
                trace_number=trace,
                delivery_id=delivery,
                purpose=purpose,
                reason_code=d.reason_code,
                reason=d.reason,
                p2p_window_closes=now + timedelta(days=policy.p2p_window_days),
                appeal_filing_due=now + timedelta(days=policy.appeal_filing_days),
            )
        ]
    if d.action == "A4":
        return _pended(state, pending, cmd, now)
    if d.action == "C":
        return [
            ev.RequestCancelledByPayer(
                at=now, trace_number=trace, delivery_id=delivery, reason=d.reason
            )
        ]
    return [
        ev.PayerNotice(
            at=now, trace_number=trace, delivery_id=delivery, action=d.action, reason=d.reason
        )
    ]


def _extension_notice(state: Episode, cmd: ApplyPayerDecision, now: datetime) -> list[ev.Event]:
    """§3: the payer's own notice that it takes more time (issue 12: a decision, not a
    denial) arrives as a pended answer carrying `extension_days`; the same rules as the ops
    route apply (once, within the policy's days, before the window closes)."""
    d = cmd.decision
    if d.action != "A4":
        raise Rejected(
            "invalid_input",
            f"extension_days comes with a pended answer (A4), not {d.action}: an extension "
            "notice moves the deadline and decides nothing",
        )
    notice = ExtendDecision(scope="decision", days=d.extension_days, reason=d.reason)
    return [
        e.model_copy(update={"delivery_id": cmd.delivery_id, "trace_number": d.trace_number})
        for e in extend_decision(state, notice, now)
    ]


def _pended(
    state: Episode, pending: PendingRequest, cmd: ApplyPayerDecision, now: datetime
) -> list[ev.Event]:
    """A4. Over Da Vinci PAS the pend is followed up with `Claim/$inquire` (DOMAIN §8) every
    `inquiry_interval_minutes` until a final answer or the request's decision deadline (§3);
    when that deadline has passed already, until the provider's time to answer runs out."""
    policy = state.policy
    if cmd.channel == "pas" and pending.inquire_until is not None:
        # An inquiry's answer that the request is still pended: nothing new happened.
        return []
    respond_by = now + timedelta(days=policy.info_response_days)
    next_inquiry = until = None
    if cmd.channel == "pas":
        until = pending.decision_due if pending.decision_due > now else respond_by
        next_inquiry = min(now + timedelta(minutes=policy.inquiry_interval_minutes), until)
    d = cmd.decision
    return [
        ev.InformationRequested(
            at=now,
            trace_number=pending.trace_number,
            delivery_id=cmd.delivery_id,
            reference=d.reference,
            reason=d.reason,
            respond_by=respond_by,
            next_inquiry=next_inquiry,
            inquire_until=until,
        )
    ]


def _pending_for(state: Episode, decision: PayerDecision) -> PendingRequest:
    if decision.trace_number not in state.trace_numbers:
        raise Rejected(
            "unknown_trace", f"trace number {decision.trace_number} is not this episode's"
        )
    pending = state.pending
    if pending is None:
        raise Rejected(
            "invalid_state",
            f"no request is waiting for a payer decision (the episode is {state.status})",
        )
    if pending.trace_number != decision.trace_number:
        raise Rejected(
            "stale_trace",
            f"trace number {decision.trace_number} belongs to an earlier request; "
            f"the open request is {pending.trace_number}",
        )
    return pending


def _grant(
    state: Episode, pending: PendingRequest, cmd: ApplyPayerDecision, now: datetime
) -> list[ev.Event]:
    auth = _authorization(state, pending, cmd.decision)
    policy = state.policy
    review = review_due(policy, auth)
    granted = ev.AuthorizationGranted(
        at=now,
        trace_number=pending.trace_number,
        delivery_id=cmd.delivery_id,
        action=cmd.decision.action,
        authorization=auth,
        requested_units=pending.units,
        purpose=pending.purpose,
        ends_at=ends_at(auth),
        review_due=review if review > now and state.discharge is None else None,
    )
    events: list[ev.Event] = [granted]
    after = fold(events, state)
    if state.discharge is not None:
        # Issue 12: an approval after discharge releases the claims it covers; then the
        # episode closes once everything is billed. No concurrent review after discharge.
        released = release_held(after, now)
        return events + released + close_if_done(fold(released, after), now)
    if review <= now and ends_at(auth) > now:
        events.append(
            extension_request(after, now, "the authorization is inside its review window")
        )
        after = fold(events[1:], after)
    return events + release_held(after, now)


def _authorization(state: Episode, pending: PendingRequest, d: PayerDecision) -> Authorization:
    assert state.opened is not None
    req = state.opened.requested
    problems = []
    if not d.authorization_number:
        problems.append("authorization_number is required for an approval")
    if d.end is None:
        problems.append("end (the last authorized date) is required for an approval")
    if d.units is None and d.action != "A1":
        problems.append(f"units are required for {d.action} (authorized quantity)")
    ceiling = state.policy.max_authorized_units
    if d.units is not None and d.units > ceiling:
        problems.append(f"units: {d.units} is above the plan's maximum of {ceiling}")
    if problems:
        raise Rejected("invalid_input", problems)
    assert d.authorization_number is not None and d.end is not None
    existing = next((a for a in state.authorizations if a.number == d.authorization_number), None)
    units = d.units if d.units is not None else pending.units
    if existing is not None:
        # §4: an extension moves the end date and adds units to the same authorization.
        return existing.model_copy(
            update={
                "end": max(existing.end, d.end),
                "units": existing.units + units,
                "service_codes": tuple(dict.fromkeys((*existing.service_codes, *d.service_codes))),
            }
        )
    start = d.start or _default_start(state, pending)
    if start > d.end:
        raise Rejected("invalid_input", f"authorization start {start} is after its end {d.end}")
    return Authorization(
        number=d.authorization_number,
        start=start,
        end=d.end,
        units=units,
        unit_type=d.unit_type or req.unit_type,
        service_codes=d.service_codes or req.service_codes,
    )


def _default_start(state: Episode, pending: PendingRequest) -> date:
    """Without a start date an initial approval starts on the requested start; an extension
    under a new number starts the day after the authorization it extends, and never covers
    days before the request was made (issue 12: an extension never backdates)."""
    assert state.opened is not None
    if pending.purpose != "extension" or not state.authorizations:
        return state.opened.requested.start
    after = max(a.end for a in state.authorizations) + timedelta(days=1)
    return max(after, pending.requested_on) if pending.requested_on else after


def attendance_evidence(state: Episode) -> tuple[str, ...]:
    """§5 concurrent review: the weeks attended below the level's minimum hours (issue 12),
    evidence a payer's reviewer asks for."""
    assert state.opened is not None
    level = state.opened.to_level
    minimum = MIN_HOURS_PER_WEEK.get(level)
    return tuple(
        f"week of {week}: {hours} hours attended, below the {minimum} hours a week of level {level}"
        for week, hours in weeks_below(list(state.attendance.values()), minimum)
    )


def extension_request(state: Episode, now: datetime, reason: str) -> ev.AuthorizationRequested:
    assert state.opened is not None
    current = max(state.authorizations, key=lambda a: a.end)
    return ev.AuthorizationRequested(
        at=now,
        trace_number=trace_number(state.episode_id, state.request_count + 1),
        purpose="extension",
        decision_due=extension_decision_due(
            state.policy, state.opened.urgency, now, ends_at(current)
        ),
        units=state.opened.requested.units,
        reason=reason,
        attendance=attendance_evidence(state),
        attendance_summary=attendance_summary(state),
    )


def attendance_summary(state: Episode) -> AttendanceSummary | None:
    """§5: what the extension request shows the reviewer — days and hours attended, missed
    sessions, and the units used of the authorization it extends (released lines only)."""
    assert state.opened is not None
    summary = summarize(list(state.attendance.values()), state.schedule, state.opened.to_level)
    if summary is None or not state.authorizations:
        return summary
    current = max(state.authorizations, key=lambda a: a.end)
    return summary.model_copy(
        update={
            "authorization_number": current.number,
            "units_used": ledger(state).used.get(current.number, 0),
            "units_approved": current.units,
            "unit_type": current.unit_type,
        }
    )


def release_held(state: Episode, now: datetime) -> list[ev.Event]:
    """Held claims go out by themselves once coverage arrives (retro-authorizations included),
    in month order (§6), so a later month waiting for an earlier one follows it out."""
    out: list[ev.Event] = []
    current = state
    for record in sorted(state.held_claims, key=lambda r: _claim_month(state, r)):
        verdict = regate(current, current.claims[record.claim_id])
        if isinstance(verdict, Released):
            events = released_claim_event(verdict, record.claim_id, now, was_held=True)
            out.extend(events)
            current = fold(events, current)
    ended = exhausted_after(current, now)
    return out + ended


def _claim_month(state: Episode, record: ClaimRecord) -> tuple[date, str]:
    days = [state.services[sid].date for sid in record.service_ids if sid in state.services]
    return min(days, default=record.through), record.claim_id


def exhausted_after(state: Episode, now: datetime) -> list[ev.Event]:
    """§5: an authorization whose units released lines used up ends (exhausted)."""
    used = ledger(state).used
    return [
        ev.AuthorizationEnded(at=now, number=a.number, status="exhausted")
        for a in live_authorizations(state)
        if a.units and used.get(a.number, 0) >= a.units
    ]


def pending_lines(state: Episode) -> list[Service]:
    """Recorded, billable lines not on a released claim (held or not yet asked for)."""
    released = {sid for c in state.released_claims for sid in c.service_ids}
    return [
        s for s in state.services.values() if s.service_id not in released and not never_billable(s)
    ]


def provide_information(state: Episode, cmd: ProvideInformation, now: datetime) -> list[ev.Event]:
    require_active(state)
    if state.pending is None or not state.pending.awaiting_information:
        raise Rejected(
            "invalid_state", f"the payer has not asked for information (episode is {state.status})"
        )
    assert state.opened is not None
    # The window is the one of the request's date (CMS-0057-F), restarted from now.
    due = decision_due(state.policy, state.opened.urgency, now, state.pending.requested_on)
    return [
        ev.InformationProvided(
            at=now,
            trace_number=state.pending.trace_number,
            note=cmd.note,
            decision_due=due,
            attachments=cmd.attachments,
        )
    ]

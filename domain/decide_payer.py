"""Decisions for a payer's answer: approval, denial, pend, cancel, notices, and the
information the payer asked for (§3, §4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import events as ev
from domain.claims import close_if_done
from domain.commands import ApplyPayerDecision, ExtendDecision, ProvideInformation
from domain.decide_coverage import extension_request, release_held
from domain.decide_windows import extend_decision
from domain.errors import Rejected
from domain.evolve import fold
from domain.guards import require_active
from domain.model import Authorization, PayerDecision
from domain.state import Episode, PendingRequest
from domain.timing import decision_due, ends_at, review_due


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

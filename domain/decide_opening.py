"""Opening an episode: the intake checked, the episode opened, then the first request or
self-pay coverage (§1–§3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain.codes import KNOWN_CODES, REVENUE_CODES
from domain.commands import OpenEpisode
from domain.errors import Rejected
from domain.intake import intake_problems
from domain.model import Authorization
from domain.policy import default_policy
from domain.state import Episode
from domain.timing import decision_due, ends_at, trace_number


def opened_event(cmd: OpenEpisode, at: datetime) -> ev.EpisodeOpened:
    fields = cmd.model_dump(exclude={"type", "policy", "prior_authorization"})
    policy = cmd.policy or default_policy(cmd.payer.plan_type)
    return ev.EpisodeOpened.model_validate(
        {**fields, "stepped_down_from": cmd.prior_authorization, "policy": policy, "at": at}
    )


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

"""Runs the effects of new events as activities, projects them, and keeps search attributes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.episode import (
        AuthorizationSubmission,
        EpisodeActivities,
        ExtensionSubmission,
        PeerToPeerRequest,
        PendedInquiry,
    )
    from activities.options import OPTIONS
    from activities.ports import Message, Notification, OutboundClaim, ProjectionBatch
    from domain.attendance import AttendanceSummary
    from domain.effects import (
        DeliverClaim,
        Effect,
        InquirePayer,
        NotifyStaff,
        RequestP2P,
        SubmitRequest,
        effects_of,
    )
    from domain.events import Event
    from domain.project import claim_views, summarize
    from domain.state import Episode
    from domain.timing import ends_at
    from domain.views import StoredEvent
    from workflows.temporal import AuthorizationEnd, EpisodeState, NextDeadline, PayerId


# Events that create or change a claim; a projection batch carries only those claims.
CLAIM_EVENTS = frozenset({"claim_released", "claim_held", "claim_superseded"})


class EffectRunner:
    """Effects run in event order, each exactly once per episode (activities are idempotent).

    The runner of runs recorded before effects left the main loop (workflows/lanes.py):
    `drain` awaits every activity from the loop that also waits for deadlines, so a payer
    outage held up the clock. Kept only so those histories replay unchanged.
    """

    def __init__(
        self,
        upsert_search_attributes: bool,
        projected_upto: int,
        activity_timeout: float | None = None,
    ) -> None:
        self._upsert = upsert_search_attributes
        self._timeout = activity_timeout
        self._queue: list[tuple[int, Effect]] = []
        self._projected_upto = projected_upto
        self._attributes: tuple[Any, ...] | None = None

    def enqueue(self, event: Event, seq: int) -> None:
        self._queue.extend((seq, effect) for effect in effects_of(event, seq))

    def enqueue_effect(self, seq: int, effect: Effect) -> None:
        self._queue.append((seq, effect))

    async def drain(self, current: Callable[[], Episode], events: list[StoredEvent]) -> None:
        """`current` gives the live state: handlers may add events while activities run."""
        while self._queue or (events and events[-1].seq > self._projected_upto):
            # Project first: a payer may answer a request before its activity returns, and
            # the webhook finds the episode by the trace number in the read model.
            await self._project(current(), events)
            while self._queue:
                _, effect = self._queue.pop(0)
                await self._run(current(), effect)
        self._search_attributes(current())

    async def _run(self, state: Episode, effect: Effect) -> None:
        fn, arg = activity_call(state, effect)
        await self._call(fn, arg)

    async def _project(self, state: Episode, events: list[StoredEvent]) -> None:
        fresh = [e for e in events if e.seq > self._projected_upto]
        if not fresh:
            return
        # The last event's instant, not the clock: the summary is then a function of the
        # events alone, which `stepdown db rebuild` reproduces exactly (store/rebuild.py).
        now = fresh[-1].at
        touched = {e.data["claim_id"] for e in fresh if e.type in CLAIM_EVENTS}
        claims = [view for view in claim_views(state) if view.claim_id in touched]
        batch = ProjectionBatch(summary=summarize(state, now), events=fresh, claims=claims)
        await self._call(EpisodeActivities.project_events, batch)
        self._projected_upto = fresh[-1].seq

    async def _call(self, fn: Any, arg: Any) -> Any:
        """The activity with its options; the episode's own timeout overrides start-to-close."""
        options = OPTIONS[fn.__name__].as_kwargs()
        if self._timeout is not None:
            options["start_to_close_timeout"] = timedelta(seconds=self._timeout)
        return await workflow.execute_activity_method(fn, arg, **options)

    def _search_attributes(self, state: Episode) -> None:
        if not self._upsert:
            return
        self._attributes = upsert_search_attributes(state, self._attributes)


def activity_call(state: Episode, effect: Effect) -> tuple[Any, Message]:
    """The activity that carries out `effect` and its argument, built from the state now."""
    match effect:
        case SubmitRequest():
            return _submission(state, effect)
        case RequestP2P():
            p2p = PeerToPeerRequest(
                **_ids(state),
                trace_number=state.trace_numbers[-1],
                payload=_p2p_payload(state, effect),
                attempt=effect.attempt,
            )
            return EpisodeActivities.request_peer_to_peer, p2p
        case InquirePayer():
            return _inquiry(state, effect)
        case DeliverClaim():
            claim = OutboundClaim(
                episode_id=state.episode_id,
                claim_id=effect.key,
                claim=effect.claim,
                resend=effect.attempt > 0,
            )
            return EpisodeActivities.deliver_claim, claim
        case NotifyStaff():
            note = Notification(
                episode_id=state.episode_id, kind=effect.notice, detail=effect.text, key=effect.key
            )
            return EpisodeActivities.notify_staff, note


def _submission(state: Episode, effect: SubmitRequest) -> tuple[Any, Message]:
    payload = _request_payload(
        state, effect.purpose, effect.units, effect.attendance, effect.attendance_summary
    )
    if effect.purpose == "extension":
        extension = ExtensionSubmission(
            **_ids(state), trace_number=effect.key, payload=payload, attempt=effect.attempt
        )
        return EpisodeActivities.submit_extension_request, extension
    initial = AuthorizationSubmission(
        **_ids(state),
        trace_number=effect.key,
        purpose=effect.purpose,
        payload=payload,
        attempt=effect.attempt,
    )
    return EpisodeActivities.submit_authorization_request, initial


def _inquiry(state: Episode, effect: InquirePayer) -> tuple[Any, Message]:
    """§8: `Claim/$inquire` about the pended request, with the Bundle of the original one."""
    inquiry = PendedInquiry(
        **_ids(state),
        trace_number=effect.trace_number,
        purpose=effect.purpose,
        attempt=effect.inquiry,
        payload=_request_payload(state, effect.purpose, effect.units),
        retry=effect.attempt,
    )
    return EpisodeActivities.inquire_payer, inquiry


def _ids(state: Episode) -> dict[str, str]:
    return {"episode_id": state.episode_id, "payer_id": _payer_id(state)}


def upsert_search_attributes(
    state: Episode, last: tuple[Any, ...] | None
) -> tuple[Any, ...] | None:
    """Upserts the episode's search attributes when they changed; returns what is now set."""
    if state.opened is None:
        return last
    summary = summarize(state, workflow.now())
    end = _end_instant(state)
    values = (state.status, summary.payer_id, summary.next_deadline, end)
    if values == last:
        return last
    updates: list[SearchAttributeUpdate[Any]] = [
        EpisodeState.value_set(state.status),
        PayerId.value_set(summary.payer_id),
        NextDeadline.value_set(summary.next_deadline)
        if summary.next_deadline
        else NextDeadline.value_unset(),
        AuthorizationEnd.value_set(end) if end else AuthorizationEnd.value_unset(),
    ]
    workflow.upsert_search_attributes(updates)
    return values


def _payer_id(state: Episode) -> str:
    assert state.opened is not None
    return state.opened.payer.id


def _end_instant(state: Episode) -> datetime | None:
    if not state.authorizations:
        return None
    return max(ends_at(a) for a in state.authorizations)


def _p2p_payload(state: Episode, effect: RequestP2P) -> dict[str, Any]:
    """The review's key, the denied request's facts (a PAS payer gets the P2P as a `$submit`
    of the denied service) and the attachments that go with it (ids: the gateway reads
    their bytes, which never enter the workflow's history)."""
    assert state.opened is not None
    facts = _request_payload(state, "p2p", state.opened.requested.units)
    return {"key": effect.key, **facts, "attachments": list(effect.attachments)}


def _request_payload(
    state: Episode,
    purpose: str,
    units: int,
    attendance: Sequence[str] = (),
    attendance_summary: AttendanceSummary | None = None,
) -> dict[str, Any]:
    """What the payer needs to decide; the gateway maps it onto the payer's format."""
    assert state.opened is not None
    o = state.opened
    summary = None if attendance_summary is None else attendance_summary.model_dump(mode="json")
    return {
        "purpose": purpose,
        "units": units,
        "requested": o.requested.model_dump(mode="json"),
        "from_level": o.from_level,
        "to_level": o.to_level,
        "asam_edition": o.asam_edition,
        "dimensions": o.dimensions,
        "diagnoses": list(o.diagnoses),
        "urgency": o.urgency,
        "member_id": o.patient.member_id,
        "authorizations": [a.model_dump(mode="json") for a in state.authorizations],
        # issue 11: the PAS request Bundle's Patient and the payer's plan type.
        "patient": {"name": o.patient.name, "birth_date": o.patient.birth_date.isoformat()},
        "plan_type": o.payer.plan_type,
        "setting": o.setting,
        # Issue 12: weeks attended below the level's minimum, evidence for a concurrent review.
        "attendance": list(attendance),
        # Days and hours attended, missed sessions and units used (None without attendance).
        "attendance_summary": summary,
    }

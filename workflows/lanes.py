"""Effects beside the main loop: each starts as an activity the moment its event is applied.

The main loop only waits for the next deadline and never for an activity, so a payer outage
delays what depends on the payer and nothing else: deadlines fire, projections keep the read
model current, continue-as-new carries unfinished effects to the next run.

Every command this module issues (schedule an activity, upsert the search attributes) is
issued synchronously inside the handler, timer or start that applied the events. Nothing is
issued because an activity *completed*, except the rare failure event: after a worker dies,
sdk-core may deliver an activity completion and an update in one activation on replay but in
two when it ran (temporalio/sdk-python#1591); commands issued in reaction to that completion
would then replay in another order than they were recorded. See docs/reliability.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.episode import EpisodeActivities
    from activities.options import LANE_OPTIONS
    from activities.ports import ProjectionBatch
    from domain.effects import Effect
    from domain.project import claim_views, summarize
    from domain.state import Episode
    from domain.views import StoredEvent
    from workflows.effects import CLAIM_EVENTS, activity_call, upsert_search_attributes


class PendingEffect(BaseModel):
    """An effect whose activity has not finished; carried across continue-as-new."""

    seq: int
    effect: Effect

    @property
    def id(self) -> str:
        return f"{self.effect.kind}:{self.effect.key}:{self.effect.attempt}"


FailureHandler = Callable[[Effect, str], None]


class EffectLanes:
    def __init__(
        self,
        *,
        upsert: bool,
        projected_upto: int,
        on_failure: FailureHandler,
        activity_timeout: float | None = None,
        payer_give_up: float | None = None,
        claims_with_projection: bool = False,
    ) -> None:
        self._upsert = upsert
        # A released claim's first delivery rides on the projection of its event, which
        # queues it in the outbox in the same transaction (store/claims_queue.py): no
        # activity of its own, so a claim release costs the tasks a decision costs. It is
        # done when that projection is confirmed. A resend (after a rejected batch) requeues
        # and stays an activity.
        self._claims_with_projection = claims_with_projection
        self._projected_upto = projected_upto
        self._on_failure = on_failure
        self._timeout = activity_timeout
        self._give_up = payer_give_up
        self._inflight: dict[str, PendingEffect] = {}
        self._projections = 0
        self._attributes: tuple[Any, ...] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- what the workflow calls ----------------------------------------------------------

    def changed(
        self, state: Episode, events: list[StoredEvent], effects: list[PendingEffect]
    ) -> None:
        """After events were applied: project them, start their effects, refresh attributes."""
        self._project(state, events)
        for pending in effects:
            self._start(state, pending)
        if self._upsert:
            self._attributes = upsert_search_attributes(state, self._attributes)

    def idle(self, events: list[StoredEvent]) -> bool:
        """No effect running and every event projected."""
        projected = not events or events[-1].seq <= self._projected_upto
        return not self._inflight and self._projections == 0 and projected

    def mark(self, events: list[StoredEvent]) -> tuple[frozenset[str], int]:
        """What is running now: the effects in flight and the last event to project."""
        return frozenset(self._inflight), events[-1].seq if events else 0

    def done_with(self, mark: tuple[frozenset[str], int]) -> bool:
        """Whether everything running at `mark` has finished (later work does not count)."""
        running, upto = mark
        return not (running & self._inflight.keys()) and self._projected_upto >= upto

    def carried(self) -> list[PendingEffect]:
        """Unfinished effects, in event order, for the next run to start again."""
        return sorted(self._inflight.values(), key=lambda p: (p.seq, p.id))

    @property
    def projected_upto(self) -> int:
        return self._projected_upto

    # -- projection -----------------------------------------------------------------------

    def _project(self, state: Episode, events: list[StoredEvent]) -> None:
        # Every unconfirmed event goes in each batch, so a later batch contains an earlier
        # one: whichever lands first, the read model (newest summary wins, events by seq)
        # ends up the same.
        fresh = [e for e in events if e.seq > self._projected_upto]
        if not fresh:
            return
        touched = {e.data["claim_id"] for e in fresh if e.type in CLAIM_EVENTS}
        claims = [view for view in claim_views(state) if view.claim_id in touched]
        # At the last event's instant: the summary is a function of the events alone, which
        # `stepdown db rebuild` reproduces exactly (store/rebuild.py).
        summary = summarize(state, fresh[-1].at)
        batch = ProjectionBatch(summary=summary, events=fresh, claims=claims)
        handle = workflow.start_activity_method(
            EpisodeActivities.project_events, batch, **self._options("project_events")
        )
        self._projections += 1
        self._spawn(self._confirm(handle, fresh[-1].seq))

    async def _confirm(self, handle: Any, upto: int) -> None:
        try:
            await handle
            self._projected_upto = max(self._projected_upto, upto)
            for done in [
                p.id
                for p in self._inflight.values()
                if p.seq <= upto and self._rides_on_projection(p)
            ]:
                del self._inflight[done]
        except ActivityError as err:
            # Only a bug makes the projection fail for good; the next batch carries it again.
            workflow.logger.error("projection up to %s failed: %s", upto, _reason(err))
        finally:
            self._projections -= 1

    # -- effects --------------------------------------------------------------------------

    def _start(self, state: Episode, pending: PendingEffect) -> None:
        if pending.id in self._inflight:
            return
        if self._rides_on_projection(pending):
            if pending.seq > self._projected_upto:
                self._inflight[pending.id] = pending
            return
        fn, arg = activity_call(state, pending.effect)
        handle = workflow.start_activity_method(fn, arg, **self._options(fn.__name__))
        self._inflight[pending.id] = pending
        self._spawn(self._watch(handle, pending))

    def _rides_on_projection(self, pending: PendingEffect) -> bool:
        effect = pending.effect
        return (
            self._claims_with_projection and effect.kind == "deliver_claim" and effect.attempt == 0
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, handle: Any, pending: PendingEffect) -> None:
        try:
            await handle
        except ActivityError as err:
            self._on_failure(pending.effect, _reason(err))
        finally:
            self._inflight.pop(pending.id, None)

    def _options(self, name: str) -> dict[str, Any]:
        options = LANE_OPTIONS[name].as_kwargs()
        if self._timeout is not None:
            options["start_to_close_timeout"] = timedelta(seconds=self._timeout)
        if self._give_up is not None and "schedule_to_close_timeout" in options:
            options["schedule_to_close_timeout"] = timedelta(seconds=self._give_up)
        return options


def _reason(err: ActivityError) -> str:
    """What the payer or the adapter said, for the worklist; never a stack trace."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        text = f"{cause.type or 'error'}: {cause.message}"
    elif isinstance(cause, TimeoutError):
        kind = cause.type.name.lower() if cause.type is not None else "activity"
        text = f"gave up after retrying ({kind} timeout)"
    else:
        text = str(cause or err)
    return text[:500] or "failed"

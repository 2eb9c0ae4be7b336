"""EpisodeWorkflow: a deterministic shell around the domain decider, one run per episode."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import commands as c
    from domain.claims import check_services
    from domain.decider import deadlines, decide, evolve
    from domain.effects import Effect, effects_of
    from domain.errors import Rejected
    from domain.events import Event
    from domain.model import TERMINAL_STATES, Deadline
    from domain.project import episode_view
    from domain.state import Episode, open_failures
    from domain.views import EpisodeView, StoredEvent
    from workflows.actions import appeal_command, claim_result, p2p_command
    from workflows.effects import EffectRunner
    from workflows.lanes import EffectLanes, PendingEffect
    from workflows.models import (
        AppealAction,
        AttendanceResult,
        ClaimResult,
        DecisionResult,
        EpisodeInput,
        EpisodeResult,
        EventsQuery,
        LineOutcome,
        P2PAction,
        RetryResult,
        ServicesResult,
    )

# New runs start their effects beside the main loop (workflows/lanes.py); runs recorded
# before that replay with the old runner, which awaited them from the loop.
EFFECT_LANES = "effects-off-the-main-loop"
# A Da Vinci PAS pend starts `$inquire` timers (DOMAIN §8); runs recorded before that replay
# its answers as they were applied then, without the channel that starts them.
PAS_INQUIRE = "pas-inquire"
# A claim's first delivery rides on its projection (workflows/lanes.py); runs recorded
# before that replay its `deliver_claim` activity.
CLAIMS_WITH_PROJECTION = "claim-delivery-with-projection"
CARRY_GRACE = timedelta(minutes=1)
CARRY_SLACK_EVENTS = 20


def rejection(err: Rejected) -> ApplicationError:
    """A refused command as a typed, non-retryable failure the caller can show as is."""
    return ApplicationError(str(err), err.problems, type=err.code, non_retryable=True)


@workflow.defn
class EpisodeWorkflow:
    @workflow.init
    def __init__(self, input: EpisodeInput) -> None:
        self._input = input
        self._state = input.snapshot or Episode()
        # Issue 12: runs recorded before the per-day duplicate hold keep the rules they ran under.
        if not workflow.patched("billing-rules-2"):
            self._state = self._state.model_copy(update={"rules": 1})
        elif not workflow.patched("billing-rules-3"):
            # Runs recorded before late months went out on their own claim held them.
            self._state = self._state.model_copy(update={"rules": 2})
        elif not workflow.patched("billing-rules-4"):
            # Runs recorded before new lines superseded the held replacement they release.
            self._state = self._state.model_copy(update={"rules": 3})
        self._first_seq = self._state.version + 1
        self._events: list[StoredEvent] = []
        self._ignored: set[tuple[str, Any]] = set()
        # Chosen by run() (old histories keep the old runner); until then effects wait here.
        self._effects: EffectRunner | EffectLanes | None = None
        self._waiting: list[PendingEffect] = list(input.pending_effects)
        self._events.extend(input.unprojected_events)
        # Carried events count toward the previous run's budget, not this one's: otherwise a
        # run that starts with a backlog would continue as new at once, again and again.
        self._carried = len(input.unprojected_events)
        self._refused: Rejected | None = None
        self._history_budget: int | None = None
        if input.snapshot is None:
            try:
                self._apply(input.open)
            except Rejected as err:
                # Raised from run(): a failure in __init__ would retry the task forever.
                self._refused = err

    # -- the loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: EpisodeInput) -> EpisodeResult:
        if self._refused is not None:
            raise rejection(self._refused)
        lanes = workflow.patched(EFFECT_LANES)
        # Runs recorded before this rule replay without it.
        self._history_budget = (
            input.continue_as_new_after_history_events
            if workflow.patched("continue-as-new-on-history-length")
            else None
        )
        if lanes:
            return await self._run_with_lanes(input)
        return await self._run_legacy(input)

    async def _run_with_lanes(self, input: EpisodeInput) -> EpisodeResult:
        carried = input.unprojected_events
        lanes = EffectLanes(
            upsert=input.upsert_search_attributes,
            projected_upto=carried[0].seq - 1 if carried else self._first_seq - 1,
            on_failure=self._effect_failed,
            activity_timeout=input.activity_timeout_seconds,
            payer_give_up=input.payer_give_up_seconds,
            claims_with_projection=workflow.patched(CLAIMS_WITH_PROJECTION),
        )
        self._effects = lanes
        waiting, self._waiting = self._waiting, []
        lanes.changed(self._state, self._events, waiting)
        while True:
            if self._state.status in TERMINAL_STATES:
                # The episode is over once its effects are done and no claim is stranded.
                await workflow.wait_condition(lambda: self._settled(lanes))
                return self._result()
            if self._should_continue_as_new():
                await self._continue_as_new(lanes)
            await self._wait_for_work()

    async def _continue_as_new(self, lanes: EffectLanes) -> None:
        # Effects already running usually finish in moments: wait for them (never long, a
        # payer may be down; not for effects of updates arriving meanwhile) so the next run
        # does not start them again.
        mark = lanes.mark(self._events)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: lanes.done_with(mark) or self._far_over_budget(),
                timeout=CARRY_GRACE,
                timeout_summary="effects before continue-as-new",
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._carry(lanes))

    def _settled(self, lanes: EffectLanes) -> bool:
        stranded = [f for f in open_failures(self._state) if f.kind == "deliver_claim"]
        return workflow.all_handlers_finished() and lanes.idle(self._events) and not stranded

    def _carry(self, lanes: EffectLanes) -> EpisodeInput:
        unprojected = [e for e in self._events if e.seq > lanes.projected_upto]
        return self._input.model_copy(
            update={
                "snapshot": self._state,
                "pending_effects": lanes.carried(),
                "unprojected_events": unprojected,
            }
        )

    def _effect_failed(self, effect: Effect, reason: str) -> None:
        command = c.RecordEffectFailure(
            kind=effect.kind,
            key=effect.key,
            attempt=effect.attempt,
            reason=reason,
            detail=effect.as_detail(),
        )
        try:
            self._apply(command)
        except Rejected as err:
            workflow.logger.warning("effect failure not recorded: %s", err)

    async def _run_legacy(self, input: EpisodeInput) -> EpisodeResult:
        runner = EffectRunner(
            input.upsert_search_attributes, self._first_seq - 1, input.activity_timeout_seconds
        )
        self._effects = runner
        for pending in self._waiting:
            runner.enqueue_effect(pending.seq, pending.effect)
        self._waiting = []
        while True:
            await runner.drain(lambda: self._state, self._events)
            if self._state.status in TERMINAL_STATES or self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await runner.drain(lambda: self._state, self._events)
                if self._state.status in TERMINAL_STATES:
                    return self._result()
                workflow.continue_as_new(self._next_input())
            await self._wait_for_work()

    async def _wait_for_work(self) -> None:
        upcoming = self._next_deadline()
        seen = len(self._events)

        def woken() -> bool:
            return len(self._events) != seen or self._should_continue_as_new()

        if upcoming is None:
            await workflow.wait_condition(woken)
            return
        delay = upcoming.due - workflow.now()
        if delay > timedelta(0):
            try:
                await workflow.wait_condition(woken, timeout=delay, timeout_summary=upcoming.kind)
                return
            except TimeoutError:
                pass
        self._fire(upcoming)

    def _next_deadline(self) -> Deadline | None:
        for deadline in deadlines(self._state):
            if (deadline.kind, deadline.due) not in self._ignored:
                return deadline
        return None

    def _fire(self, deadline: Deadline) -> None:
        try:
            self._apply(c.DeadlineReached(kind=deadline.kind, due=deadline.due))
        except Rejected as err:
            workflow.logger.warning("deadline %s ignored: %s", deadline.kind, err)
            self._ignored.add((deadline.kind, deadline.due))

    def _should_continue_as_new(self) -> bool:
        if self._state.status in TERMINAL_STATES:
            return False
        info = workflow.info()
        if len(self._events) - self._carried >= self._input.continue_as_new_after_events:
            return True
        budget = self._history_budget
        if budget is not None and info.get_current_history_length() >= budget:
            return True
        return info.is_continue_as_new_suggested()

    def _far_over_budget(self) -> bool:
        """The history budget overrun by updates that kept coming: carry, do not wait."""
        budget = self._history_budget
        length = workflow.info().get_current_history_length()
        return budget is not None and length >= budget + CARRY_SLACK_EVENTS

    def _next_input(self) -> EpisodeInput:
        return self._input.model_copy(update={"snapshot": self._state})

    def _result(self) -> EpisodeResult:
        s = self._state
        return EpisodeResult(episode_id=s.episode_id, state=s.status, version=s.version)

    # -- applying commands ------------------------------------------------------------------

    def _decide(self, command: Any) -> list[Event]:
        return decide(self._state, command, workflow.now())

    def _apply(self, command: Any) -> list[Event]:
        new = self._decide(command)
        effects: list[PendingEffect] = []
        for event in new:
            self._state = evolve(self._state, event)
            data = event.model_dump(mode="json", exclude={"type", "at"})
            seq = self._state.version
            stored = StoredEvent(seq=seq, type=event.type, at=event.at, data=data)
            self._events.append(stored)
            effects += [
                PendingEffect(seq=stored.seq, effect=e) for e in effects_of(event, stored.seq)
            ]
        if isinstance(self._effects, EffectLanes):
            if new:
                self._effects.changed(self._state, self._events, effects)
        elif isinstance(self._effects, EffectRunner):
            for pending in effects:
                self._effects.enqueue_effect(pending.seq, pending.effect)
        else:
            self._waiting += effects
        return new

    def _validate(self, command: Any) -> None:
        try:
            self._decide(command)
        except Rejected as err:
            raise rejection(err) from None

    def _view(self) -> EpisodeView:
        return episode_view(self._state, workflow.now())

    # -- queries ------------------------------------------------------------------------------

    @workflow.query
    def view(self) -> EpisodeView:
        return self._view()

    @workflow.query
    def events(self, query: EventsQuery) -> list[StoredEvent]:
        """This run's events after `query.after` (earlier runs' events are in the read model)."""
        return [e for e in self._events if e.seq > query.after]

    @workflow.query
    def opened(self) -> c.OpenEpisode:
        return self._input.open

    # -- updates ------------------------------------------------------------------------------

    @workflow.update
    def open(self, command: c.OpenEpisode) -> EpisodeView:
        """Idempotent open: the same details return the view, other details are a conflict."""
        self._apply(command)
        return self._view()

    @open.validator
    def _validate_open(self, command: c.OpenEpisode) -> None:
        self._validate(command)

    @workflow.update
    def apply_payer_decision(self, command: c.ApplyPayerDecision) -> DecisionResult:
        if command.channel == "pas" and not workflow.patched(PAS_INQUIRE):
            command = command.model_copy(update={"channel": None})
        applied = self._apply(command)
        status = "applied" if applied else "duplicate"
        return DecisionResult(status=status, view=self._view())

    @apply_payer_decision.validator
    def _validate_decision(self, command: c.ApplyPayerDecision) -> None:
        self._validate(command)

    @workflow.update
    def provide_information(self, command: c.ProvideInformation) -> EpisodeView:
        self._apply(command)
        return self._view()

    @provide_information.validator
    def _validate_information(self, command: c.ProvideInformation) -> None:
        self._validate(command)

    @workflow.update
    def record_services(self, command: c.RecordServices) -> ServicesResult:
        check = check_services(self._state, command.services, workflow.now())
        self._apply(command)
        return ServicesResult(
            accepted=[s.service_id for s in check.accepted],
            duplicates=list(check.duplicates),
            rejected=[LineOutcome.model_validate(p, from_attributes=True) for p in check.rejected],
            warnings=[LineOutcome.model_validate(p, from_attributes=True) for p in check.warnings],
            version=self._state.version,
        )

    @record_services.validator
    def _validate_services(self, command: c.RecordServices) -> None:
        self._validate(command)

    @workflow.update
    def release_claim(self, command: c.ReleaseClaim) -> ClaimResult:
        self._apply(command)
        return claim_result(self._state, command.claim_id)

    @release_claim.validator
    def _validate_claim(self, command: c.ReleaseClaim) -> None:
        if command.claim_id not in self._state.claims:
            self._validate(command)

    @workflow.update
    def p2p(self, action: P2PAction) -> EpisodeView:
        self._apply(p2p_command(action))
        return self._view()

    @p2p.validator
    def _validate_p2p(self, action: P2PAction) -> None:
        try:
            command = p2p_command(action)
        except Rejected as err:
            raise rejection(err) from None
        self._validate(command)

    @workflow.update
    def appeal(self, action: AppealAction) -> EpisodeView:
        self._apply(appeal_command(action))
        return self._view()

    @appeal.validator
    def _validate_appeal(self, action: AppealAction) -> None:
        try:
            command = appeal_command(action)
        except Rejected as err:
            raise rejection(err) from None
        self._validate(command)

    @workflow.update
    def discharge(self, command: c.Discharge) -> EpisodeView:
        self._apply(command)
        return self._view()

    @discharge.validator
    def _validate_discharge(self, command: c.Discharge) -> None:
        self._validate(command)

    @workflow.update
    def report_effect_failure(self, command: c.RecordEffectFailure) -> EpisodeView:
        """A failure learnt later from outside: a clearinghouse rejecting a written 278."""
        self._apply(command)
        return self._view()

    @report_effect_failure.validator
    def _validate_failure_report(self, command: c.RecordEffectFailure) -> None:
        self._validate(command)

    @workflow.update
    def retry_failed_effects(self, command: c.RetryFailedEffects) -> RetryResult:
        retried = self._apply(command)
        return RetryResult(retried=[e.failure_id for e in retried if e.type == "effect_retried"])

    @retry_failed_effects.validator
    def _validate_retry(self, command: c.RetryFailedEffects) -> None:
        self._validate(command)

    @workflow.update
    def cancel(self, command: c.Cancel) -> EpisodeView:
        self._apply(command)
        return self._view()

    @cancel.validator
    def _validate_cancel(self, command: c.Cancel) -> None:
        self._validate(command)

    # -- issue 12: billing voids or corrects a recorded service -------------------------------

    @workflow.update
    def void_service(self, command: c.VoidService) -> EpisodeView:
        self._apply(command)
        return self._view()

    @void_service.validator
    def _validate_void_service(self, command: c.VoidService) -> None:
        self._validate(command)

    @workflow.update
    def correct_service(self, command: c.CorrectService) -> EpisodeView:
        self._apply(command)
        return self._view()

    @correct_service.validator
    def _validate_correct_service(self, command: c.CorrectService) -> None:
        self._validate(command)

    # -- issue 12: the payer's notice extending a decision window -----------------------------

    @workflow.update
    def extend_decision(self, command: c.ExtendDecision) -> EpisodeView:
        self._apply(command)
        return self._view()

    @extend_decision.validator
    def _validate_extend_decision(self, command: c.ExtendDecision) -> None:
        self._validate(command)

    # -- issue 12: the program schedule and session attendance --------------------------------

    @workflow.update
    def set_schedule(self, command: c.SetSchedule) -> EpisodeView:
        self._apply(command)
        return self._view()

    @set_schedule.validator
    def _validate_set_schedule(self, command: c.SetSchedule) -> None:
        self._validate(command)

    @workflow.update
    def record_attendance(self, command: c.RecordAttendance) -> AttendanceResult:
        known = set(self._state.attendance)
        new = self._apply(command)
        derived = [s.service_id for e in new if e.type == "services_recorded" for s in e.services]
        ids = [s.session_id for s in command.sessions]
        return AttendanceResult(
            recorded=[i for i in dict.fromkeys(ids) if i not in known],
            duplicates=[i for i in dict.fromkeys(ids) if i in known],
            services=derived,
            version=self._state.version,
        )

    @record_attendance.validator
    def _validate_record_attendance(self, command: c.RecordAttendance) -> None:
        self._validate(command)

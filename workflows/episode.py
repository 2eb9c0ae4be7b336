"""EpisodeWorkflow: a deterministic shell around the domain decider, one run per episode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import commands as c
    from domain.claims import check_services
    from domain.decider import deadlines, decide, evolve
    from domain.errors import Rejected
    from domain.events import Event
    from domain.model import TERMINAL_STATES, Deadline
    from domain.project import episode_view
    from domain.state import Episode
    from domain.views import EpisodeView, StoredEvent
    from workflows.actions import appeal_command, claim_result, p2p_command
    from workflows.effects import EffectRunner
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
        ServicesResult,
    )


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
        self._first_seq = self._state.version + 1
        self._events: list[StoredEvent] = []
        self._ignored: set[tuple[str, Any]] = set()
        self._effects = EffectRunner(
            input.upsert_search_attributes, self._state.version, input.activity_timeout_seconds
        )
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
        # Runs recorded before this rule replay without it.
        self._history_budget = (
            input.continue_as_new_after_history_events
            if workflow.patched("continue-as-new-on-history-length")
            else None
        )
        while True:
            await self._effects.drain(lambda: self._state, self._events)
            if self._state.status in TERMINAL_STATES or self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._effects.drain(lambda: self._state, self._events)
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
        if len(self._events) >= self._input.continue_as_new_after_events:
            return True
        budget = self._history_budget
        if budget is not None and info.get_current_history_length() >= budget:
            return True
        return info.is_continue_as_new_suggested()

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
        for event in new:
            self._state = evolve(self._state, event)
            data = event.model_dump(mode="json", exclude={"type", "at"})
            stored = StoredEvent(seq=self._state.version, type=event.type, at=event.at, data=data)
            self._events.append(stored)
            self._effects.enqueue(event, stored.seq)
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

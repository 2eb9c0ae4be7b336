"""The episode client: opens episodes and sends updates/queries, mapping failures to Rejected.

Reading an episode's Temporal history is workflows/history.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as c
from domain.decider import decide
from domain.errors import Rejected
from domain.state import Episode
from domain.views import EpisodeView
from workflows.episode import EpisodeWorkflow
from workflows.history import HistoryEntry, runs_history
from workflows.models import EpisodeInput

T = TypeVar("T")


class WorkflowServiceUnavailable(Exception):
    """Temporal did not answer; the caller should keep the request and retry later."""


def workflow_id(episode_id: str) -> str:
    return f"episode-{episode_id}"


@asynccontextmanager
async def mapped_errors(episode_id: str) -> AsyncIterator[None]:
    """Turns Temporal failures into the domain's `Rejected` or `WorkflowServiceUnavailable`."""
    try:
        yield
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            problems = list(cause.details[0]) if cause.details else [cause.message]
            raise Rejected(cause.type or "rejected", problems) from None
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            if any(w in err.message for w in ("already completed", "closed", "closing")):
                raise Rejected("invalid_state", f"episode {episode_id} is finished") from None
            raise Rejected("not_found", f"no episode {episode_id}") from None
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise WorkflowServiceUnavailable(str(err)) from None
        if workflow_not_ready(err):
            # The episode's current workflow task failed (a worker died in it, or it is
            # stuck): the update was not taken. Retryable, like a Temporal outage: a webhook
            # stays queued in the inbox and the caller hears 503 (see api/stuck.py).
            raise WorkflowServiceUnavailable(str(err)) from None
        raise


# The server answers an update "workflow not ready" when the workflow task that would have
# taken it failed — as it does when a run continues as new while updates wait for it; the
# next task takes them. Tried again after these pauses (seconds) before the caller hears it.
NOT_READY_RETRIES = (0.2, 0.5, 1.0)


def workflow_not_ready(err: RPCError) -> bool:
    return err.status == RPCStatusCode.FAILED_PRECONDITION and "workflow task" in err.message


class EpisodeClient:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        continue_as_new_after_events: int = 500,
        continue_as_new_after_history_events: int | None = 200,
        upsert_search_attributes: bool = True,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self._can_after = continue_as_new_after_events
        self._can_after_history = continue_as_new_after_history_events
        self._upsert = upsert_search_attributes

    def handle(self, episode_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id(episode_id))

    async def open(self, command: c.OpenEpisode) -> tuple[EpisodeView, bool]:
        """Start the episode (True) or return the existing one opened with the same details."""
        decide(Episode(), command, datetime.now(UTC))  # every intake problem, before any I/O
        async with mapped_errors(command.episode_id):
            existing = await self._opened(command.episode_id)
            if existing is not None:
                # Who asks is not a detail: the same body from another person is a repeat.
                if existing.model_copy(update={"actor": None}) != command.model_copy(
                    update={"actor": None}
                ):
                    raise Rejected(
                        "conflict", f"episode {command.episode_id} was opened with other details"
                    )
                return await self.view(command.episode_id), False
            start = WithStartWorkflowOperation(
                EpisodeWorkflow.run,
                EpisodeInput(
                    open=command,
                    upsert_search_attributes=self._upsert,
                    continue_as_new_after_events=self._can_after,
                    continue_as_new_after_history_events=self._can_after_history,
                ),
                id=workflow_id(command.episode_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            view = await self.client.execute_update_with_start_workflow(
                EpisodeWorkflow.open, command, start_workflow_operation=start
            )
            return view, True

    async def _opened(self, episode_id: str) -> c.OpenEpisode | None:
        try:
            opened: c.OpenEpisode = await self.handle(episode_id).query(EpisodeWorkflow.opened)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return opened

    async def view(self, episode_id: str) -> EpisodeView:
        async with mapped_errors(episode_id):
            view: EpisodeView = await self.handle(episode_id).query(EpisodeWorkflow.view)
            return view

    async def update(
        self, episode_id: str, update: Any, arg: Any, *, update_id: str | None = None
    ) -> Any:
        # One id for every attempt, so an update the server did take is never applied twice.
        update_id = update_id or f"update-{uuid.uuid4().hex}"
        handle = self.handle(episode_id)
        async with mapped_errors(episode_id):
            for pause in NOT_READY_RETRIES:
                try:
                    return await handle.execute_update(update, arg, id=update_id)
                except RPCError as err:
                    if not workflow_not_ready(err):
                        raise
                await asyncio.sleep(pause)
            return await handle.execute_update(update, arg, id=update_id)

    async def history(self, episode_id: str) -> list[HistoryEntry]:
        """Every run's Temporal history, oldest run first, following continue-as-new back."""
        async with mapped_errors(episode_id):
            latest = (await self.handle(episode_id).describe()).run_id
            return await runs_history(self.client, workflow_id(episode_id), latest)

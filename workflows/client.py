"""The episode client: opens episodes and sends updates/queries, mapping failures to Rejected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as c
from domain.decider import decide
from domain.errors import Rejected
from domain.state import Episode
from domain.views import EpisodeView
from workflows.episode import EpisodeWorkflow
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
        if err.status == RPCStatusCode.FAILED_PRECONDITION and "workflow task" in err.message:
            # The episode's current workflow task failed (a worker died in it, or it is
            # stuck): the update was not taken. Retryable, like a Temporal outage: a webhook
            # stays queued in the inbox and the caller hears 503 (see api/stuck.py).
            raise WorkflowServiceUnavailable(str(err)) from None
        raise


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
        async with mapped_errors(episode_id):
            return await self.handle(episode_id).execute_update(update, arg, id=update_id)

    async def history(self, episode_id: str) -> list[HistoryEntry]:
        """Every run's Temporal history, oldest run first, following continue-as-new back."""
        async with mapped_errors(episode_id):
            run_id: str | None = (await self.handle(episode_id).describe()).run_id
            runs: list[list[HistoryEntry]] = []
            while run_id:
                handle = self.client.get_workflow_handle(workflow_id(episode_id), run_id=run_id)
                try:
                    events = [event async for event in handle.fetch_history_events()]
                except RPCError as err:
                    # An older run past the namespace's retention is gone; show what is left.
                    if runs and err.status == RPCStatusCode.NOT_FOUND:
                        break
                    raise
                converter = self.client.data_converter
                runs.append([await _history_entry(converter, run_id, e) for e in events])
                run_id = _previous_run(events)
            return [entry for run in reversed(runs) for entry in run]


# -- history: Temporal events with their payloads decoded for the reader ---------------------


# The fields of a temporal.api.common.v1.Payload as protobuf's JSON mapping names them.
PAYLOAD_KEYS = frozenset({"metadata", "data", "external_payloads"})


class HistoryEntry(BaseModel):
    """One event of one run of an episode's workflow, payloads decoded."""

    run_id: str
    event_id: int
    time: datetime
    type: str
    details: dict[str, Any]


def _previous_run(events: list[HistoryEvent]) -> str | None:
    if not events:
        return None
    started = events[0].workflow_execution_started_event_attributes
    return started.continued_execution_run_id or None


async def _history_entry(
    converter: DataConverter, run_id: str, event: HistoryEvent
) -> HistoryEntry:
    which = event.WhichOneof("attributes")
    raw = MessageToDict(getattr(event, which), preserving_proto_field_name=True) if which else {}
    return HistoryEntry(
        run_id=run_id,
        event_id=event.event_id,
        time=event.event_time.ToDatetime(tzinfo=UTC),
        type=_event_type(event.event_type),
        details=await _decoded(converter, raw),
    )


def _event_type(value: int) -> str:
    """EVENT_TYPE_WORKFLOW_EXECUTION_STARTED -> WorkflowExecutionStarted."""
    words = EventType.Name(value).removeprefix("EVENT_TYPE_").split("_")  # type: ignore[arg-type]
    return "".join(word.capitalize() for word in words)


async def _decoded(converter: DataConverter, value: Any) -> Any:
    """The same JSON shape with every Payload replaced by the value it carries."""
    if isinstance(value, list):
        return [await _decoded(converter, item) for item in value]
    if not isinstance(value, dict):
        return value
    if _is_payload(value):
        return await _payload_value(converter, value)
    return {key: await _decoded(converter, item) for key, item in value.items()}


def _is_payload(value: dict[str, Any]) -> bool:
    metadata = value.get("metadata")
    return isinstance(metadata, dict) and "encoding" in metadata and set(value) <= PAYLOAD_KEYS


async def _payload_value(converter: DataConverter, raw: dict[str, Any]) -> Any:
    payload = ParseDict(raw, Payload())
    try:
        [decoded] = await converter.decode([payload])
    except Exception as err:
        # One payload this process cannot open (an unknown key) must not hide the rest.
        return {"undecodable_payload": type(err).__name__}
    return to_jsonable_python(decoded, bytes_mode="base64")

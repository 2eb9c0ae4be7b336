"""An episode's Temporal history for readers: every run, oldest first, payloads decoded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

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


async def runs_history(client: Client, workflow_id: str, run_id: str | None) -> list[HistoryEntry]:
    """Every run's history from `run_id` back along continue-as-new, oldest run first."""
    runs: list[list[HistoryEntry]] = []
    while run_id:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            events = [event async for event in handle.fetch_history_events()]
        except RPCError as err:
            # An older run past the namespace's retention is gone; show what is left.
            if runs and err.status == RPCStatusCode.NOT_FOUND:
                break
            raise
        converter = client.data_converter
        runs.append([await _history_entry(converter, run_id, e) for e in events])
        run_id = _previous_run(events)
    return [entry for run in reversed(runs) for entry in run]

"""Replaying a recorded history, today's workflow gives each effect's activity the argument
recorded in the history: replay alone compares which activities start, not what they get.

Fields added to an activity's input since a history was recorded (`resend`, the attendance
summary) are the only difference allowed: every recorded value is still sent as recorded.
The claims of the first release's runs are the exception: replay builds them with today's
billing code, whose warnings read differently and whose lines name their authorization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER

ROOT = Path(__file__).resolve().parents[1] / "histories"
HISTORIES = sorted(ROOT.glob("*/*.json"))
# The activities that carry out effects (workflows/effects.py activity_call).
EFFECT_ACTIVITIES = frozenset(
    {
        "submit_authorization_request",
        "submit_extension_request",
        "request_peer_to_peer",
        "inquire_payer",
        "deliver_claim",
        "notify_staff",
    }
)

DRIFTED = {("r1-effects-in-loop", "deliver_claim")}


class Started(Interceptor):
    """Keeps the name and arguments of every activity the workflow starts."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any]]] = []

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        calls = self.calls

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> Any:
                calls.append((input.activity, list(input.args)))
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


async def recorded_calls(history: WorkflowHistory) -> list[tuple[str, Any]]:
    calls = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            a = event.activity_task_scheduled_event_attributes
            [payload] = await DATA_CONVERTER.payload_codec.decode(list(a.input.payloads))  # type: ignore[union-attr]
            calls.append((a.activity_type.name, json.loads(payload.data)))
    return calls


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_each_effect_gets_the_argument_recorded_in_its_history(path: Path) -> None:
    history = WorkflowHistory.from_json(f"inputs-{path.stem}", json.loads(path.read_text()))
    started = Started()
    replayer = Replayer(
        workflows=[EpisodeWorkflow],
        data_converter=DATA_CONVERTER,
        interceptors=[started],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    await replayer.replay_workflow(history, raise_on_replay_failure=True)

    converter = DATA_CONVERTER.payload_converter
    replayed = [
        (name, json.loads(converter.to_payloads(args)[0].data)) for name, args in started.calls
    ]
    recorded = [c for c in await recorded_calls(history) if c[0] in EFFECT_ACTIVITIES]
    replayed = [c for c in replayed if c[0] in EFFECT_ACTIVITIES]
    # Every first run submits its request (an activity); a later run may start only local
    # activities (projections: their inputs are not in the history), hence no activity.
    assert recorded or ".run1" not in path.name
    assert [name for name, _ in replayed] == [name for name, _ in recorded]
    for (name, sent), (_, was) in zip(replayed, recorded, strict=True):
        if (path.parent.name, name) not in DRIFTED:
            assert keeps(sent, was), f"{name}: {sent} does not carry {was}"


def keeps(sent: Any, recorded: Any) -> bool:
    """`sent` holds every value of `recorded` (and maybe fields added since)."""
    if isinstance(recorded, dict):
        return isinstance(sent, dict) and all(
            k in sent and keeps(sent[k], v) for k, v in recorded.items()
        )
    if isinstance(recorded, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(recorded)
            and all(keeps(a, b) for a, b in zip(sent, recorded, strict=True))
        )
    return bool(sent == recorded)

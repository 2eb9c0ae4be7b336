"""A run continued as new by the release before typed effects carries its unfinished effects
in that release's shape; this release starts them (time-skipping)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.fakes import RecordingNotifier
from tests.support.scenario import Scenario
from tests.workflows.test_effect_failures import Rig, rig_with
from workflows.episode import EpisodeWorkflow


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async for r in rig_with(RecordingNotifier()):
        yield r


async def test_effects_carried_in_the_earlier_shape_are_started(rig: Rig) -> None:
    s = Scenario()
    trace = s.trace
    carried = [
        {"kind": "submit_request", "key": trace, "attempt": 0,
         "detail": {"trace_number": trace, "purpose": "initial", "units": 20}},
        {"kind": "notify", "key": "9", "attempt": 0,
         "detail": {"kind": "payer_notice", "detail": "carried from the earlier run"}},
    ]  # fmt: skip
    # As the earlier release wrote the next run's input (workflows/models.py EpisodeInput).
    written: dict[str, Any] = {
        "open": s.command.model_dump(mode="json"),
        "snapshot": s.state.model_dump(mode="json"),
        "pending_effects": [{"seq": 2, "effect": effect} for effect in carried],
    }
    await rig.env.client.start_workflow(
        EpisodeWorkflow.run,
        written,
        id=f"episode-{s.state.episode_id}",
        task_queue=rig.queue,
    )
    await rig.env.sleep(timedelta(minutes=1))

    assert [r.trace_number for r in rig.payer.accepted] == [trace]
    [note] = [n for n in rig.notifier.sent if n.key == "9"]
    assert (note.kind, note.detail) == ("payer_notice", "carried from the earlier run")

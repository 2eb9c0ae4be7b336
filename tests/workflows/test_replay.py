"""Recorded histories replay against today's workflow code: a non-deterministic change fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.record_histories import RELEASE, SCENARIOS
from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER

ROOT = Path(__file__).resolve().parents[1] / "histories"
HISTORIES = sorted(ROOT.glob("*/*.json"))
EARLIER = {
    "approved",
    "denied_p2p_overturned",
    "pended_approved_extension",
    "discharge_two_months_continue_as_new",
}


def test_every_release_keeps_its_recorded_episodes():
    releases = {p.parent.name for p in HISTORIES}
    assert releases == {"r1-effects-in-loop", "r2-effect-lanes", RELEASE}
    by_release = {
        r: {p.name.split(".")[0] for p in HISTORIES if p.parent.name == r} for r in releases
    }
    assert by_release["r1-effects-in-loop"] == EARLIER
    assert by_release["r2-effect-lanes"] == set(SCENARIOS)
    assert by_release[RELEASE] == set(SCENARIOS)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_changed_workflow_fails_replay():
    """The guard works: a workflow that issues its effects differently cannot replay."""
    path = ROOT / "r1-effects-in-loop" / "approved.run1.json"
    history = WorkflowHistory.from_json("replay-broken", json.loads(path.read_text()))

    from workflows import effects

    original = effects.EffectRunner._project

    async def skip_projection(self, current, events):  # type: ignore[no-untyped-def]
        return None

    effects.EffectRunner._project = skip_projection  # type: ignore[method-assign]
    try:
        replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    finally:
        effects.EffectRunner._project = original  # type: ignore[method-assign]
    assert result.replay_failure is not None


async def test_a_changed_effect_lane_fails_replay():
    """The same guard over this release: starting effects in another order cannot replay."""
    path = ROOT / RELEASE / "approved.run1.json"
    history = WorkflowHistory.from_json("replay-broken-lanes", json.loads(path.read_text()))

    from workflows import lanes

    original = lanes.EffectLanes.changed

    def effects_before_projection(self, state, events, effects):  # type: ignore[no-untyped-def]
        for pending in effects:
            self._start(state, pending)
        self._project(state, events)

    lanes.EffectLanes.changed = effects_before_projection  # type: ignore[method-assign]
    try:
        replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    finally:
        lanes.EffectLanes.changed = original  # type: ignore[method-assign]
    assert result.replay_failure is not None

"""Recorded histories replay against today's workflow code: a non-deterministic change fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.episode import EpisodeWorkflow
from workflows.temporal import DATA_CONVERTER

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_the_four_recorded_episodes_are_present():
    names = {p.name.split(".")[0] for p in HISTORIES}
    assert names == {
        "approved",
        "denied_p2p_overturned",
        "pended_approved_extension",
        "discharge_two_months_continue_as_new",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[EpisodeWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_changed_workflow_fails_replay():
    """The guard works: a workflow that issues its effects differently cannot replay."""
    path = next(p for p in HISTORIES if p.name.startswith("approved"))
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

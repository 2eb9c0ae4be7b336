"""Fault 6: replays refused, unmatched deliveries recovered, bad input refused, no 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_security

pytestmark = pytest.mark.slow


async def test_replays_are_refused_unmatched_recovered_and_bad_input_refused(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    result = await scenario_security.run(dev_env.client, tmp_path, scale=2)

    assert (result.lost, result.doubled, result.problems) == (0, 0, [])
    assert result.load["replays refused"] == result.load["replays tried"] == 6
    assert result.load["unmatched deliveries recovered"] == result.load["unmatched deliveries"] == 4
    assert result.load["bad inputs tried"] >= 15
    assert (result.load["bad inputs accepted"], result.load["answers 500"]) == (0, 0)

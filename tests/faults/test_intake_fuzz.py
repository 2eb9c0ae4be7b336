"""Fault 5b: broken intake bodies over HTTP: no 5xx, 422s list problems, refusals change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_intake_fuzz
from tests.faults.scenario_parser_fuzz import fuzz_examples

pytestmark = pytest.mark.slow


async def test_broken_intake_bodies_are_refused_clearly_and_leave_nothing_behind(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    examples = fuzz_examples()

    result = await scenario_intake_fuzz.run(dev_env.client, tmp_path, examples)

    assert (result.lost, result.doubled, result.problems) == (0, 0, [])
    assert result.load == {"intake bodies": examples}

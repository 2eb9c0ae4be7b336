"""Fault 1: a worker killed inside payer submissions and mid-update, three times in all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_worker_kill
from tests.faults.ledger import FaultResult

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def killed(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FaultResult]:
    address = dev_env.client.service_client.config.target_host
    workdir = tmp_path_factory.mktemp("worker-kill")
    yield await scenario_worker_kill.run(dev_env.client, address, workdir)


def test_the_payer_sees_one_submission_per_key_and_every_episode_closes(
    killed: FaultResult,
) -> None:
    assert (killed.lost, killed.doubled, killed.problems) == (0, 0, [])
    assert killed.load == {"episodes": 3, "submissions": 3, "worker kills": 3}
    assert killed.notes[0].startswith("3 submissions in flight at the kill")


def test_histories_written_across_the_kills_replay(killed: FaultResult) -> None:
    """Each kill leaves a timed-out sticky workflow task before the next update; the effect
    lanes keep command order independent of how sdk-core splits activations (lanes.py)."""
    assert killed.unreplayable == 0

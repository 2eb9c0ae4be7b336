"""Scale-out: 2 API replicas and 3 workers, one of each killed mid-load, nothing lost or doubled."""

from __future__ import annotations

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_scale_out
from tests.faults.ledger import FaultResult

# Five processes besides the dev server; about a minute on two busy cores.
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scaled(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> FaultResult:
    address = dev_env.client.service_client.config.target_host
    workdir = tmp_path_factory.mktemp("scale-out")
    return await scenario_scale_out.run(dev_env.client, address, workdir)


def test_every_accepted_request_is_applied_once_and_every_episode_closes(
    scaled: FaultResult,
) -> None:
    assert (scaled.lost, scaled.doubled, scaled.problems) == (0, 0, [])
    # intake, decision, service, claim and discharge of each of the 12 episodes
    assert scaled.load["accepted requests"] == 5 * scaled.load["episodes"]


def test_the_kills_landed_mid_load_and_both_replicas_served(scaled: FaultResult) -> None:
    spread, after = scaled.notes[1], scaled.notes[1].split("retried")[1]
    ports = spread.split("per replica port ")[1].split(";")[0]
    assert ports.count(":") == scenario_scale_out.REPLICAS  # each replica took connections
    assert not after.strip().startswith("0 answered")
    assert int(after.split(",")[1].split()[0]) > 0  # requests answered after the kills

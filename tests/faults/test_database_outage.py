"""Fault 3: PostgreSQL away for seconds: webhooks answer 503, projections catch up, nothing lost."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_database_outage

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def test_a_database_outage_loses_no_acknowledged_delivery_and_no_event(
    dev_env: WorkflowEnvironment,
) -> None:
    result = await scenario_database_outage.run(dev_env.client)

    assert (result.lost, result.doubled, result.problems) == (0, 0, [])
    assert result.load["episodes"] == 11
    refused, acknowledged = result.notes[0].split(" webhook answers were 503 during the cut")
    assert int(refused) > 0  # payers were told to retry, not told "accepted"
    assert acknowledged.endswith("7 deliveries acknowledged, each applied once")
    # The four changes made during the cut (three intakes, one cancel) kept their audit entry.
    assert result.notes[2].startswith("4 changes made while the database was away")

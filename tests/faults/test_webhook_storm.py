"""Fault 4: a storm of duplicated, shuffled, concurrent webhooks applies each decision once."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.faults import scenario_webhook_storm
from tests.support.db import require_postgres

pytestmark = pytest.mark.slow


async def test_a_thousand_shuffled_deliveries_with_duplicates_apply_once_each(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # PostgreSQL, the production database, or a failure under REQUIRE_POSTGRES=1: the storm
    # never quietly runs on SQLite instead (tests/support/db.py require_postgres).
    require_postgres()
    database = "postgres"

    result = await scenario_webhook_storm.run(dev_env.client, tmp_path, database)

    assert (result.lost, result.doubled, result.problems) == (0, 0, [])
    assert result.load == {"episodes": 50, "deliveries": 1000, "duplicates": 200}

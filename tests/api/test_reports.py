"""GET /reports/summary: per payer over a period, as JSON and CSV; bad periods are 422."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.support.api_client import Api
from tests.support.api_episodes import billed_episode
from tests.support.intake import new_id, today
from tests.support.polling import eventually


def params() -> dict[str, str]:
    return {"from": today().isoformat(), "to": today().isoformat()}


async def test_the_summary_counts_what_a_payer_did_in_the_period(api: Api) -> None:
    payer = new_id("payer")
    await billed_episode(api, payer)

    async def row() -> dict[str, Any] | None:
        response = await api.call("GET", "/reports/summary", "ops", params=params())
        assert response.status_code == 200, response.text
        rows = [p for p in response.json()["payers"] if p["payer_id"] == payer]
        return rows[0] if rows and rows[0]["claims_released"] else None

    found = await eventually(row)
    assert (found["plan_type"], found["requests"], found["approvals"]) == ("commercial", 1, 1)
    assert (found["denials"], found["denial_rate"]) == (0, 0.0)
    assert found["decision_hours_median"] is not None and found["decision_hours_median"] >= 0
    assert (found["units_approved"], found["units_used"]) == (20, 1)
    assert (found["claims_released"], found["released_charges"]) == (1, "150.00")


async def test_the_summary_comes_as_csv_when_asked(api: Api) -> None:
    payer = new_id("payer")
    await billed_episode(api, payer)

    response = await api.call(
        "GET", "/reports/summary", "admin", params=params(), headers={"Accept": "text/csv"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment;" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    [mine] = [r for r in rows if r["payer_id"] == payer]
    assert (mine["requests"], mine["claims_released"], mine["released_charges"]) == (
        "1",
        "1",
        "150.00",
    )
    assert rows[-1]["payer_id"] == "all"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-11-01", "to": "9999-12-31"}, "to"),
        ({"from": "2026-13-01", "to": "2026-11-30"}, "from"),
        ({"to": "2026-11-30"}, "from"),
    ],
)
async def test_a_period_that_makes_no_sense_is_a_422_naming_it(
    api: Api, query: dict[str, str], parameter: str
) -> None:
    response = await api.call("GET", "/reports/summary", "ops", params=query)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert parameter in str(response.json()["errors"])


async def test_an_empty_period_has_no_payers_and_a_zero_total(api: Api) -> None:
    response = await api.call(
        "GET", "/reports/summary", "ops", params={"from": "1990-01-01", "to": "1990-01-31"}
    )

    assert response.status_code == 200
    assert response.json()["payers"] == []
    assert response.json()["total"]["requests"] == 0

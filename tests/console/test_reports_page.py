"""The console's reports page: charts drawn server-side as SVG, the table, CSV export."""

from __future__ import annotations

import csv
import io

from tests.support.api_episodes import billed_episode
from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id, today


async def test_ops_see_charts_and_the_table_and_export_csv(console: Console) -> None:
    payer = new_id("payer")
    await billed_episode(console.api, payer)
    await console.login("ops")
    day = today().isoformat()

    page = await console.web.get("/console/reports", params={"from": day, "to": day})
    exported = await console.web.get("/console/reports.csv", params={"from": day, "to": day})

    assert page.status_code == 200
    assert page.text.count("<svg") >= 2 and 'role="img"' in page.text  # held: maybe none
    assert "<script" not in page.text  # drawn on the server, nothing to run
    text = visible_text(page.text)
    assert "Decisions by payer" in text and payer in text
    assert f'href="/console/reports.csv?from={day}&amp;to={day}"' in page.text
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["cache-control"] == "no-store"
    rows = {r["payer_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows[payer]["claims_released"] == "1"


async def test_a_bad_period_is_explained_at_its_field(console: Console) -> None:
    await console.login("ops")

    swapped = await console.web.get(
        "/console/reports", params={"from": "2026-11-30", "to": "2026-11-01"}
    )
    garbled = await console.web.get("/console/reports", params={"from": "30/11/2026"})
    csv_refused = await console.web.get("/console/reports.csv", params={"from": "x"})

    assert swapped.status_code == 422
    assert 'id="to" name="to" value="2026-11-01" aria-invalid="true"' in swapped.text
    assert "is before `from`" in visible_text(swapped.text)
    assert garbled.status_code == 422
    assert "Enter a date as year-month-day" in visible_text(garbled.text)
    assert csv_refused.status_code == 422


async def test_reports_are_ops_work(console: Console) -> None:
    anonymous = await console.web.get("/console/reports")
    await console.login("intake")
    intake = await console.web.get("/console/reports")
    intake_csv = await console.web.get("/console/reports.csv")
    await console.login("admin")
    admin = await console.web.get("/console/reports")

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/console/login")
    assert intake.status_code == intake_csv.status_code == 403
    assert admin.status_code == 200

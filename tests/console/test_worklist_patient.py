"""The worklist names the patient first and gives the exact local due time beside the relative."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from tests.console.test_worklist import denied_at, rows
from tests.support.api_stack import Stack, api_settings
from tests.support.console_client import Console, visible_text


async def test_a_row_starts_with_the_patient_and_shows_the_local_due_time(
    console: Console, console_stack: Stack
) -> None:
    payer = f"payer-{uuid.uuid4().hex[:8]}"
    view = await denied_at(console, payer)
    settings = api_settings(
        STEPDOWN_TASK_QUEUE=console_stack.settings.task_queue,
        STEPDOWN_CONSOLE_TIMEZONE="America/New_York",
    )
    transport = httpx.ASGITransport(app=create_app(settings, deps=console_stack.deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as web:
        await web.post("/console/login", data={"token": "t-ops"})
        page = (await web.get("/console", params={"payer": payer})).text

    [row] = rows(page)
    text = visible_text(row)
    assert text.startswith("Jane Roe member MCD123456 P2P window closing")
    due = datetime.fromisoformat(re.search(r'datetime="([^"]+)"', row).group(1))  # type: ignore[union-attr]
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%a %d %b %H:%M} {local.tzname()}" in text  # EST or EDT, never UTC
    assert re.search(r"in \d+ (h|d)", text)
    assert "times in America/New_York" in visible_text(page)
    assert view["episode_id"] in row


def test_an_unknown_time_zone_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        api_settings(STEPDOWN_CONSOLE_TIMEZONE="Mars/Olympus")


async def test_columns_sort_the_worklist_and_an_unknown_sort_keeps_urgency(
    console: Console,
) -> None:
    payer = f"payer-{uuid.uuid4().hex[:8]}"
    for name in ("Zed Zulu", "Amy Alpha"):
        view = await console.api.open(
            payer={"id": payer, "plan_type": "medicaid_managed_care"},
            patient={"id": "P", "name": name, "birth_date": "1980-01-01", "member_id": "M1"},
        )
        assert (await console.api.decide(view, "A3", reason="criteria")).status_code == 202
        await console.api.projected(view["episode_id"], view["version"] + 1)
    await console.login("ops")

    by_patient = (
        await console.web.get("/console", params={"payer": payer, "sort": "patient"})
    ).text
    by_urgency = (await console.web.get("/console", params={"payer": payer, "sort": "<x>"})).text

    assert [visible_text(r).split(" member")[0] for r in rows(by_patient)] == [
        "Amy Alpha",
        "Zed Zulu",
    ]
    assert '<th scope="col" aria-sort="ascending"><a href="/console?sort=patient' in by_patient
    assert [visible_text(r).split(" member")[0] for r in rows(by_urgency)] == [
        "Zed Zulu",
        "Amy Alpha",
    ]  # opened first, so its P2P window closes first

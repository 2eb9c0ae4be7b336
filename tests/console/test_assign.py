"""Ops assign an unmatched payer decision to its episode from the console's worklist."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.api_episodes import unmatched_delivery
from tests.support.console_client import Console
from tests.support.intake import new_id


async def test_ops_assign_an_unmatched_delivery_from_the_worklist(console: Console) -> None:
    view = await console.api.open()
    delivery = await unmatched_delivery(console.api, view)
    await console.login("ops")
    page = await console.web.get("/console?kind=webhook_unmatched")
    action = f"/console/deliveries/acme-medicaid/{delivery}/assign"

    done = await console.submit(action, {"episode_id": view["episode_id"]})

    assert f'action="{action}"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/episodes/{view['episode_id']}?done=assigned"
    assert (await console.api.view(view["episode_id"]))["state"] == "authorized"
    audit = await asyncio.to_thread(console.api.deps.audit_log.entries, view["episode_id"])
    [entry] = [e for e in audit if e.action == "console.assign"]
    assert (entry.role, entry.outcome, entry.status_code) == ("ops", "assigned", 303)
    after = await console.web.get("/console?kind=webhook_unmatched")
    assert delivery not in after.text


async def test_a_wrong_or_forbidden_assignment_changes_nothing(console: Console) -> None:
    view, other = await console.api.open(), await console.api.open()
    delivery = await unmatched_delivery(console.api, view)
    action = f"/console/deliveries/acme-medicaid/{delivery}/assign"
    await console.login("ops")

    wrong = await console.submit(action, {"episode_id": other["episode_id"]})
    malformed = await console.submit(action, {"episode_id": "../etc"})
    unknown = await console.submit(f"/console/deliveries/acme-medicaid/{new_id('d')}/assign",
                                   {"episode_id": view["episode_id"]})  # fmt: skip
    forged = await console.web.post(action, data={"episode_id": view["episode_id"], "csrf": "x"})
    await console.login("intake")
    intake = await console.submit(action, {"episode_id": view["episode_id"]})

    statuses: list[Any] = [r.status_code for r in (wrong, malformed, unknown, forged, intake)]
    assert statuses == [409, 422, 404, 403, 403]
    assert "refused" in wrong.text
    entry = await asyncio.to_thread(console.api.deps.inbox.get, delivery, "acme-medicaid")
    assert entry is not None and entry.status == "unmatched"
    assert (await console.api.view(other["episode_id"]))["version"] == other["version"]


async def test_console_action_dates_off_the_calendar_are_refused_on_the_form(
    console: Console,
) -> None:
    view = await console.api.open()
    await console.login("ops")
    path = f"/episodes/{view['episode_id']}"

    discharge = await console.act(
        view["episode_id"], "discharge", date="0001-01-01", patient_status="01",
        disposition="completed",
    )  # fmt: skip
    schedule = await console.act(
        view["episode_id"], "p2p-schedule", at="9999-12-31T23:59", tz_offset="900"
    )
    absurd_offset = await console.act(
        view["episode_id"], "p2p-schedule", at="2026-12-01T10:00", tz_offset="9" * 12
    )

    assert (discharge.status_code, schedule.status_code) == (422, 422)
    assert "1900–2100" in discharge.text and "1900–2100" in schedule.text
    assert absurd_offset.status_code < 500  # an offset past any zone counts as none
    assert (await console.api.call("GET", path, "ops")).json()["version"] == view["version"]

"""The episode page shows attendance against the level's minimum and lines left off a claim."""

from __future__ import annotations

from tests.console.test_episode import page_of
from tests.support.console_client import Console, visible_text
from tests.support.intake import approval, new_id, service_line, today


async def test_the_page_shows_weekly_hours_below_the_minimum_and_dropped_lines(
    console: Console,
) -> None:
    api = console.api
    view = await api.open()
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    episode_id = view["episode_id"]
    schedule = {"days_per_week": 3, "hours_per_day": "3"}
    assert (
        await api.call("PUT", f"/episodes/{episode_id}/schedule", "ops", json=schedule)
    ).status_code == 200
    sessions = {
        "sessions": [
            {
                "session_id": new_id("A"),
                "date": today().isoformat(),
                "status": "attended",
                "minutes": 120,
            },
            {"session_id": new_id("N"), "date": today().isoformat(), "status": "no_show"},
        ]
    }
    assert (
        await api.call("POST", f"/episodes/{episode_id}/attendance", "billing", json=sessions)
    ).status_code == 200
    good, short = service_line(code="90853"), service_line(code="90853", minutes=20)
    await api.call(
        "POST", f"/episodes/{episode_id}/services", "billing", json={"services": [good, short]}
    )
    body = {"claim_id": new_id("C"), "through": today().isoformat()}
    assert (
        await api.call("POST", f"/episodes/{episode_id}/claims", "billing", json=body)
    ).status_code == 201
    await console.login("ops")

    text = visible_text(await page_of(console, episode_id))

    assert "3 days a week, 3 hours a day" in text
    assert "1 attended, 1 missed" in text
    assert "2.00 h" in text and "below minimum" in text
    assert "Left off: below_minimum_minutes" in text


async def test_the_schedule_and_attendance_forms_record_and_show_errors_in_place(
    console: Console,
) -> None:
    view = await console.api.open()
    episode_id = view["episode_id"]
    await console.login("ops")
    day = today().isoformat()

    saved = await console.act(episode_id, "program-schedule", days_per_week="3", hours_per_day="3")
    bad = await console.act(episode_id, "attendance", session_id="A-1", date=day, status="attended")
    missed = await console.act(
        episode_id, "attendance", session_id="N-1", date=day, status="no_show"
    )

    assert saved.status_code == 303, saved.text
    assert bad.status_code == 422 and "needs its minutes" in visible_text(bad.text)
    assert missed.status_code == 303, missed.text
    shown = (await console.api.view(episode_id))["attendance"]
    assert shown["schedule"]["days_per_week"] == 3 and shown["missed"] == 1

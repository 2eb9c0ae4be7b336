"""The notifications page: each role sees its unread notifications and marks them read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from store.sql_notifications import SqlNotifications
from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id


def notify(console: Console, kind: str, roles: list[str], detail: str = "see the episode") -> str:
    notes = console.api.deps.notifications
    assert isinstance(notes, SqlNotifications)
    episode_id = new_id()
    notes.store(episode_id, "1", kind, detail, roles, datetime.now(UTC))
    return episode_id


def mark_read_path(page: str, episode_id: str) -> str:
    row = re.search(rf"<tr>(?:(?!</tr>).)*?{episode_id}.*?</tr>", page, flags=re.S)
    assert row, f"no row for {episode_id}"
    [path] = re.findall(r'action="(/console/notifications/\d+/read)"', row.group(0))
    return path


async def test_each_role_sees_its_own_unread_notifications(console: Console) -> None:
    overdue = notify(console, "payer_decision_overdue", ["ops"])
    info = notify(console, "info_requested", ["intake"])
    await console.login("ops")

    page = (await console.web.get("/console/notifications")).text

    assert f'href="/console/episodes/{overdue}"' in page
    assert "Payer decision overdue" in visible_text(page)
    assert info not in page
    await console.login("intake")
    intake = (await console.web.get("/console/notifications")).text
    assert info in intake and overdue not in intake


async def test_marking_one_read_removes_it_for_that_role_only(console: Console) -> None:
    denied = notify(console, "denied", ["ops", "intake"])
    await console.login("ops")
    page = (await console.web.get("/console/notifications")).text

    answer = await console.submit(mark_read_path(page, denied), {}, await console.csrf())

    assert answer.status_code == 303
    assert denied not in (await console.web.get("/console/notifications")).text
    await console.login("intake")
    assert denied in (await console.web.get("/console/notifications")).text


async def test_mark_all_read_clears_the_page(console: Console) -> None:
    first, second = (notify(console, "payer_notice", ["ops"]) for _ in range(2))
    await console.login("ops")

    answer = await console.submit("/console/notifications/read", {})

    assert answer.status_code == 303
    page = (await console.web.get("/console/notifications")).text
    assert first not in page and second not in page and "Nothing unread" in page


async def test_another_roles_or_an_unknown_notification_is_404(console: Console) -> None:
    info = notify(console, "info_requested", ["intake"])
    await console.login("intake")
    path = mark_read_path((await console.web.get("/console/notifications")).text, info)
    await console.login("ops")

    theirs = await console.submit(path, {})
    unknown = await console.submit("/console/notifications/999999999/read", {})

    assert (theirs.status_code, unknown.status_code) == (404, 404)
    await console.login("intake")
    assert info in (await console.web.get("/console/notifications")).text


async def test_a_form_without_the_csrf_token_or_a_session_changes_nothing(console: Console) -> None:
    denied = notify(console, "denied", ["ops"])
    await console.login("ops")
    path = mark_read_path((await console.web.get("/console/notifications")).text, denied)

    forged = await console.web.post(path, data={"csrf": "0" * 64})
    await console.web.post("/console/logout", data={"csrf": await console.csrf()})
    anonymous = await console.web.get("/console/notifications")

    assert forged.status_code == 403
    assert anonymous.status_code in (302, 303, 307)
    await console.login("ops")
    assert denied in (await console.web.get("/console/notifications")).text


async def test_detail_text_is_escaped(console: Console) -> None:
    episode = notify(console, "payer_notice", ["ops"], detail='<script>alert("x")</script>')
    await console.login("ops")

    page = (await console.web.get("/console/notifications")).text

    assert episode in page
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page

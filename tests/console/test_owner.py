"""Ops give an episode to a person from its page; "My work" lists what a person owns."""

from __future__ import annotations

from tests.console.test_people import new_person, sign_in
from tests.console.test_worklist import denied_at, rows
from tests.support.api_stack import Stack
from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id


async def test_ops_assign_an_episode_and_my_work_lists_it(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "ops", name="Olga Owner")
    payer = new_id("payer")
    view = await denied_at(console, payer)
    episode_id = view["episode_id"]
    await sign_in(console.web, login, password)
    page = f"/console/episodes/{episode_id}"

    before = await console.web.get(page)
    assigned = await console.submit(f"{page}/owner", {"username": login}, await console.csrf(page))
    after = await console.web.get(assigned.headers["location"])
    mine = await console.web.get("/console", params={"mine": "1", "payer": payer})
    everyone = await console.web.get("/console", params={"payer": payer})
    await console.submit(f"{page}/owner", {"username": ""}, await console.csrf(page))
    released = await console.web.get("/console", params={"mine": "1", "payer": payer})

    assert "Nobody owns this episode yet." in visible_text(before.text)
    assert f'<option value="{login}">Olga Owner ({login})</option>' in before.text
    assert assigned.status_code == 303
    assert "Owner changed." in visible_text(after.text)
    assert "Olga Owner works this episode." in visible_text(after.text)
    assert "My work" in visible_text(mine.text)
    [row] = rows(mine.text)
    assert episode_id in row and visible_text(row).endswith("Olga Owner")
    assert visible_text(rows(everyone.text)[0]).endswith("Olga Owner")
    assert rows(released.text) == []


async def test_bad_assignments_are_refused_and_intake_only_sees_the_owner(
    console: Console, console_stack: Stack
) -> None:
    view = await denied_at(console, new_id("payer"))
    episode_id = view["episode_id"]
    billing, _ = new_person(console_stack, "billing")
    await console.login("ops")
    page = f"/console/episodes/{episode_id}"
    token = await console.csrf(page)

    unknown = await console.submit(f"{page}/owner", {"username": "nobody-here"}, token)
    not_episode_work = await console.submit(f"{page}/owner", {"username": billing}, token)
    forged = await console.submit(f"{page}/owner", {"username": billing}, "ab" * 32)
    missing = await console.submit(f"/console/episodes/{new_id()}/owner", {"username": ""}, token)
    await console.login("intake")
    as_intake = await console.web.get(page)
    intake_post = await console.submit(f"{page}/owner", {"username": ""}, await console.csrf(page))

    assert unknown.status_code == 422 and "no user 'nobody-here'" in visible_text(unknown.text)
    assert not_episode_work.status_code == 422
    assert forged.status_code == 403 and missing.status_code == 404
    assert "Nobody owns this episode yet." in visible_text(as_intake.text)
    assert 'id="owner-username"' not in as_intake.text
    assert intake_post.status_code == 403

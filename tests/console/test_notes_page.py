"""Notes on the episode page: intake and ops add them, everyone on the page reads them."""

from __future__ import annotations

from tests.console.test_people import new_person, sign_in
from tests.support.api_stack import Stack
from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id


async def test_a_person_adds_a_note_and_it_shows_with_their_name_escaped(
    console: Console, console_stack: Stack
) -> None:
    login, password = new_person(console_stack, "intake", name="Ivy Intake")
    view = await console.api.open()
    episode_id = view["episode_id"]
    await console.api.projected(episode_id, view["version"])
    await sign_in(console.web, login, password)
    page = f"/console/episodes/{episode_id}"

    empty = await console.submit(f"{page}/notes", {"text": "   "}, await console.csrf(page))
    added = await console.submit(
        f"{page}/notes", {"text": "Faxed <b>notes</b>\nto the payer"}, await console.csrf(page)
    )
    shown = await console.web.get(added.headers["location"])

    assert empty.status_code == 422
    assert 'aria-invalid="true" aria-describedby="note-error"' in empty.text
    assert "Write the note before adding it." in visible_text(empty.text)
    assert added.status_code == 303
    text = visible_text(shown.text)
    assert "Note added." in text and "Ivy Intake" in text
    assert "Faxed &lt;b&gt;notes&lt;/b&gt;\nto the payer" in shown.text


async def test_notes_need_a_session_and_its_csrf_token(console: Console) -> None:
    view = await console.api.open()
    page = f"/console/episodes/{view['episode_id']}"

    anonymous = await console.web.post(f"{page}/notes", data={"text": "x", "csrf": "0" * 64})
    await console.login("ops")
    forged = await console.submit(f"{page}/notes", {"text": "x"}, "ab" * 32)
    unknown = await console.submit(f"/console/episodes/{new_id()}/notes", {"text": "x"})

    assert anonymous.status_code == 303  # to the sign-in page
    assert forged.status_code == 403 and unknown.status_code == 404

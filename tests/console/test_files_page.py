"""Attachments on the episode page: upload with the session's CSRF token, list, download."""

from __future__ import annotations

from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id

PDF = b"%PDF-1.7\nreferral letter\n%%EOF"


async def upload(console: Console, episode_id: str, data: bytes, csrf: str) -> object:
    return await console.web.post(
        f"/console/episodes/{episode_id}/attachments",
        data={"csrf": csrf},
        files={"file": ("referral <letter>.pdf", data, "application/pdf")},
    )


async def test_a_file_is_attached_listed_and_downloaded_through_the_session(
    console: Console,
) -> None:
    view = await console.api.open()
    episode_id = view["episode_id"]
    await console.api.projected(episode_id, view["version"])
    await console.login("intake")
    page = f"/console/episodes/{episode_id}"

    added = await upload(console, episode_id, PDF, await console.csrf(page))
    shown = await console.web.get(added.headers["location"])  # type: ignore[attr-defined]
    link = f'href="/console/episodes/{episode_id}/attachments/'
    attachment = shown.text.split(link, 1)[1].split('"', 1)[0]
    fetched = await console.web.get(f"{page}/attachments/{attachment}")

    assert added.status_code == 303  # type: ignore[attr-defined]
    assert "Attachment added." in visible_text(shown.text)
    assert "referral letter.pdf" in shown.text  # "<" and ">" are dropped from names
    assert fetched.content == PDF and fetched.headers["cache-control"] == "no-store"
    assert fetched.headers["content-disposition"].startswith("attachment;")


async def test_uploads_need_the_csrf_token_a_known_type_and_a_session(console: Console) -> None:
    view = await console.api.open()
    episode_id = view["episode_id"]
    await console.api.projected(episode_id, view["version"])
    anonymous = await upload(console, episode_id, PDF, "0" * 64)
    await console.login("ops")
    page = f"/console/episodes/{episode_id}"
    token = await console.csrf(page)

    forged = await upload(console, episode_id, PDF, "ab" * 32)
    script = await upload(console, episode_id, b"<script>alert(1)</script>", token)
    urlencoded = await console.web.post(f"{page}/attachments", data={"csrf": token})
    unknown = await upload(console, new_id(), PDF, token)
    missing = await console.web.get(f"{page}/attachments/999999")

    assert anonymous.status_code == 303  # type: ignore[attr-defined]
    assert forged.status_code == 403  # type: ignore[attr-defined]
    assert script.status_code == 422  # type: ignore[attr-defined]
    assert "only PDF, PNG and JPEG" in visible_text(script.text)  # type: ignore[attr-defined]
    assert urlencoded.status_code == 415 and unknown.status_code == 404  # type: ignore[attr-defined]
    assert missing.status_code == 404
    assert "No attachments yet." in visible_text((await console.web.get(page)).text)

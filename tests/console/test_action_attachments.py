"""The P2P request, appeal and information forms offer the episode's attachments; the ones
ticked go with the action (a P2P request carries them to the payer), others are refused."""

from __future__ import annotations

from typing import Any

from tests.console.test_files_page import PDF
from tests.support.api_episodes import denied
from tests.support.console_client import Console, visible_text
from tests.support.polling import eventually


async def attached(console: Console, episode_id: str) -> int:
    page = f"/console/episodes/{episode_id}"
    added = await console.web.post(
        f"{page}/attachments",
        data={"csrf": await console.csrf(page)},
        files={"file": ("discharge summary.pdf", PDF, "application/pdf")},
    )
    assert added.status_code == 303, added.text
    listed = await console.api.call("GET", f"/episodes/{episode_id}/attachments", "ops")
    return int(listed.json()[-1]["id"])


async def test_a_ticked_attachment_goes_with_the_p2p_request(console: Console) -> None:
    view = await denied(console.api)
    episode_id = view["episode_id"]
    await console.login("ops")
    file_id = await attached(console, episode_id)

    page = await console.web.get(f"/console/episodes/{episode_id}")
    sent = await console.submit(
        f"/console/episodes/{episode_id}/actions/p2p-request",
        {f"attachment-{file_id}": "1"},
        csrf=await console.csrf(f"/console/episodes/{episode_id}"),
    )

    assert f'id="p2p-request-attachment-{file_id}" name="attachment-{file_id}"' in page.text
    assert f'id="appeal-file-attachment-{file_id}"' in page.text
    assert sent.status_code == 303, sent.text

    async def request() -> Any:
        gateway = console.api.stack.ports.payer_gateway
        found = [r for r in gateway.accepted if r.episode_id == episode_id and r.purpose == "p2p"]
        return found[0] if found else None

    assert (await eventually(request)).payload["attachments"] == [file_id]

    async def timeline() -> str | None:
        text = visible_text((await console.web.get(f"/console/episodes/{episode_id}")).text)
        return text if "Peer-to-peer review requested with 1 attachment" in text else None

    assert await eventually(timeline)


async def test_an_attachment_of_another_episode_is_refused_and_the_form_keeps_the_ticks(
    console: Console,
) -> None:
    view = await denied(console.api)
    other = await console.api.open()
    await console.api.projected(other["episode_id"], other["version"])
    episode_id = view["episode_id"]
    await console.login("ops")
    mine = await attached(console, episode_id)
    theirs = await attached(console, other["episode_id"])

    refused = await console.submit(
        f"/console/episodes/{episode_id}/actions/p2p-request",
        {f"attachment-{mine}": "1", f"attachment-{theirs}": "1"},
        csrf=await console.csrf(f"/console/episodes/{episode_id}"),
    )

    assert refused.status_code == 422
    assert f"This episode has no attachment {theirs}." in visible_text(refused.text)
    assert f'name="attachment-{mine}" value="1" checked' in refused.text
    assert (await console.api.view(episode_id))["state"] == "denied"

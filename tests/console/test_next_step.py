"""The episode page leads with the next step; secondary forms fold away; undoable actions ask."""

from __future__ import annotations

import re

from tests.console.test_worklist import denied_at
from tests.support.console_client import Console, visible_text
from tests.support.intake import approval


def section(page: str, ident: str) -> str:
    found = re.search(
        rf'<section class="card next-step" aria-labelledby="{ident}">(.*?)</section>', page, re.S
    )
    assert found, page
    return found.group(1)


async def test_a_denial_leads_ops_to_the_p2p_request_with_the_reason_and_due_time(
    console: Console,
) -> None:
    view = await denied_at(console, "acme-medicaid")
    await console.login("ops")

    page = (await console.web.get(f"/console/episodes/{view['episode_id']}")).text

    step = section(page, "next-h")
    text = visible_text(step)
    assert "Last Authorization denied (payer)" in text
    assert "Denial reason not medically necessary" in text
    assert re.search(r"Due P2p window closes: in \d+ d", text)
    assert '<a class="button" href="#act-p2p-request">Request a peer-to-peer review</a>' in step
    more = page.split('<details class="more">', 1)[1]
    assert 'data-action="appeal-file"' in more and 'data-action="cancel"' in more
    assert 'data-action="p2p-request"' not in more


async def test_intake_sees_the_step_is_ops_work_and_every_form_it_may_use(
    console: Console,
) -> None:
    view = await denied_at(console, "acme-medicaid")
    await console.login("intake")

    page = (await console.web.get(f"/console/episodes/{view['episode_id']}")).text

    assert "Request a peer-to-peer review (ops)" in visible_text(section(page, "next-h"))
    assert '<details class="more"' not in page  # nothing to fold: no main form of its own
    assert 'data-action="cancel"' in page


async def test_discharge_and_cancel_ask_before_they_are_sent(console: Console) -> None:
    view = await console.api.open()
    await console.login("ops")

    page = (await console.web.get(f"/console/episodes/{view['episode_id']}")).text

    cancel = re.search(r'<form[^>]*data-action="cancel"[^>]*>', page).group(0)  # type: ignore[union-attr]
    discharge = re.search(r'<form[^>]*data-action="discharge"[^>]*>', page).group(0)  # type: ignore[union-attr]
    assert 'data-confirm="Cancel this episode?' in cancel
    assert 'data-confirm="Discharge this patient from IOP?' in discharge
    assert "window.confirm" in page and re.search(r'<script nonce="[^"]+">', page)


async def test_a_cancelled_episode_shows_its_authorization_as_ended(console: Console) -> None:
    view = await console.api.open()
    assert (await console.api.decide(view, "A1", **approval())).status_code == 202
    episode_id = view["episode_id"]
    cancel = await console.api.call(
        "POST", f"/episodes/{episode_id}/cancel", "ops", json={"reason": "moved away"}
    )
    assert cancel.status_code == 200, cancel.text
    await console.login("ops")

    page = (await console.web.get(f"/console/episodes/{episode_id}")).text

    auth = visible_text(page.split('id="auth-h"', 1)[1].split("</section>", 1)[0])
    assert "ended (cancelled)" in auth and "no longer used" in auth
    assert "days left" not in auth
    assert "Cancelled: nothing more to do." in visible_text(section(page, "next-h"))


async def test_a_pend_shows_what_the_payer_asks_for_and_leads_to_the_information_form(
    console: Console,
) -> None:
    view = await console.api.open()
    pended = await console.api.decide(view, "A4", reason="the PHP discharge summary")
    assert pended.status_code == 202
    await console.api.projected(view["episode_id"], view["version"] + 1)
    await console.login("intake")

    page = (await console.web.get(f"/console/episodes/{view['episode_id']}")).text

    step = section(page, "next-h")
    assert "Payer asks for the PHP discharge summary" in visible_text(step)
    assert 'href="#act-information"' in step

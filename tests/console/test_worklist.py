"""The worklist page: urgent first, relative due times, overdue rows marked, kind/payer filters."""

from __future__ import annotations

import re
from typing import Any

from tests.support.console_client import Console, visible_text
from tests.support.intake import new_id
from tests.support.polling import eventually
from tests.support.webhooks import decision_body


async def denied_at(console: Console, payer_id: str) -> dict[str, Any]:
    api = console.api
    view = await api.open(payer={"id": payer_id, "plan_type": "medicaid_managed_care"})
    assert (await api.decide(view, "A3", reason="not medically necessary")).status_code == 202
    await api.projected(view["episode_id"], view["version"] + 1)
    return view


def rows(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, flags=re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), flags=re.S) if body else []


async def test_a_denial_appears_with_a_link_and_a_relative_due_time(console: Console) -> None:
    payer = new_id("payer")
    view = await denied_at(console, payer)
    await console.login("ops")

    page = (await console.web.get("/console", params={"payer": payer})).text

    [row] = rows(page)
    assert f'href="/console/episodes/{view["episode_id"]}"' in row
    text = visible_text(row)
    assert "P2P window closing" in text and payer in text and "denied" in text
    assert re.search(r"in \d+ (h|d)", text)
    assert f'<option value="{payer}" selected>' in page


async def test_filters_by_kind_and_payer_keep_only_matching_items(console: Console) -> None:
    payer, other = new_id("payer"), new_id("payer")
    mine = await denied_at(console, payer)
    theirs = await denied_at(console, other)
    await console.login("ops")

    by_kind = (await console.web.get("/console", params={"kind": "p2p_window_closing"})).text
    by_payer = (await console.web.get("/console", params={"payer": payer})).text
    held_only = (
        await console.web.get("/console", params={"payer": payer, "kind": "claims_held"})
    ).text

    assert mine["episode_id"] in by_kind and theirs["episode_id"] in by_kind
    assert mine["episode_id"] in by_payer and theirs["episode_id"] not in by_payer
    assert rows(held_only) == [] and "Nothing needs a person right now" in held_only


async def test_an_unmatched_webhook_is_listed_as_overdue(console: Console) -> None:
    payer = new_id("payer")
    body, content_type = decision_body(new_id("SD"), "A1")
    answer = await console.api.webhook(payer, body, content_type)
    assert answer.status_code == 404
    await console.login("ops")

    async def listed() -> str:
        page = (await console.web.get("/console", params={"payer": payer})).text
        return page if rows(page) else ""

    [row] = rows(await eventually(listed))
    assert row.startswith('<tr class="overdue">')
    # No episode matched: the row offers ops the form to assign it to one.
    assert "Unmatched payer webhook" in visible_text(row) and "Assign to episode" in row


async def test_unknown_filter_values_are_ignored(console: Console) -> None:
    await console.login("ops")

    response = await console.web.get("/console", params={"kind": "<script>", "payer": "a b"})

    assert response.status_code == 200
    assert "<script>" not in response.text.split("</style>")[1].split("<script nonce")[0]

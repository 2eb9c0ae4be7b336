"""The episode page: live state, authorization and units, claims, timeline, and action forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.console_client import Console, visible_text
from tests.support.intake import approval, new_id, service_line, today


def form_of(page: str, action: str) -> str:
    found = re.search(rf'<form[^>]*data-action="{action}".*?</form>', page, flags=re.S)
    assert found, f"no {action} form on the page"
    return found.group(0)


async def denied(console: Console) -> dict[str, Any]:
    api = console.api
    view = await api.open()
    answer = await api.decide(view, "A3", reason_code="0F", reason="not medically necessary")
    assert answer.status_code == 202, answer.text
    return await api.view(view["episode_id"])


async def page_of(console: Console, episode_id: str) -> str:
    response = await console.web.get(f"/console/episodes/{episode_id}")
    assert response.status_code == 200, response.text
    return response.text


async def test_a_denied_episode_offers_p2p_and_appeal_and_shows_the_denial(
    console: Console,
) -> None:
    view = await denied(console)
    await console.login("ops")

    page = await page_of(console, view["episode_id"])

    text = visible_text(page)
    assert "denied" in text and "Denied: not medically necessary" in text
    assert "Jane Roe" in text  # behind the login the patient's name may show
    assert re.search(r"p2p window closes in \d+ (h|d)", text)
    assert re.findall(r'data-action="([a-z0-9-]+)"', page) == [
        "p2p-request",
        "appeal-file",
        "discharge",
        "program-schedule",
        "attendance",
        "cancel",
    ]
    workflow = f"/namespaces/default/workflows/episode-{view['episode_id']}"
    assert f'href="http://127.0.0.1:8233{workflow}"' in page


async def test_intake_sees_only_the_actions_of_its_role(console: Console) -> None:
    view = await denied(console)
    await console.login("intake")

    page = await page_of(console, view["episode_id"])

    assert re.findall(r'data-action="([a-z0-9-]+)"', page) == [
        "discharge",
        "program-schedule",
        "cancel",
    ]


async def test_the_timeline_and_history_link_are_for_ops_only(console: Console) -> None:
    view = await denied(console)
    await console.login("intake")
    for_intake = await page_of(console, view["episode_id"])
    await console.login("ops")
    for_ops = await page_of(console, view["episode_id"])

    assert "Timeline" not in visible_text(for_intake) and "Temporal UI" not in for_intake
    assert "Timeline" in visible_text(for_ops) and "Temporal UI" in for_ops


async def test_a_p2p_request_then_schedule_moves_the_episode_and_says_so(
    console: Console,
) -> None:
    view = await denied(console)
    await console.login("ops")
    call_at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    requested = await console.act(view["episode_id"], "p2p-request")
    scheduled = await console.act(view["episode_id"], "p2p-schedule", at=call_at, tz_offset="0")

    assert requested.status_code == scheduled.status_code == 303
    page = (await console.web.get(scheduled.headers["location"])).text
    text = visible_text(page)
    assert "Done: schedule the peer-to-peer call." in text
    assert "p2p scheduled" in text
    assert f"Peer-to-peer call scheduled for {call_at.replace('T', ' ')}" in text
    assert "p2p-outcome" in page


async def test_the_domains_refusal_is_shown_inside_the_form_that_caused_it(
    console: Console,
) -> None:
    view = await console.api.open()
    await console.login("ops")

    later = (today() + timedelta(days=3)).isoformat()

    response = await console.act(
        view["episode_id"], "discharge", date=later, patient_status="01", disposition="completed"
    )

    assert response.status_code == 422
    form = form_of(response.text, "discharge")
    assert "the discharge date is in the future" in visible_text(form)
    assert f'value="{later}"' in form
    assert (await console.api.view(view["episode_id"]))["version"] == view["version"]


async def test_an_action_the_state_does_not_allow_is_a_409_naming_the_state(
    console: Console,
) -> None:
    view = await console.api.open()
    await console.login("ops")

    response = await console.act(view["episode_id"], "p2p-request")

    assert response.status_code == 409
    alert = re.search(r'<div class="alert error" role="alert">(.*?)</div>', response.text)
    assert alert, "the refusal is not shown"
    text = visible_text(alert.group(1))
    assert "Could not request a peer-to-peer review" in text
    assert "while the episode is auth_requested" in text


async def test_a_missing_input_is_marked_at_the_input(console: Console) -> None:
    view = await denied(console)
    await console.login("ops")
    await console.act(view["episode_id"], "p2p-request")

    response = await console.act(view["episode_id"], "p2p-schedule", at="")

    assert response.status_code == 422
    form = form_of(response.text, "p2p-schedule")
    assert 'aria-invalid="true"' in form and "enter the date and time" in form


async def test_an_authorized_episode_shows_units_days_left_and_released_claims(
    console: Console,
) -> None:
    api = console.api
    view = await api.open()
    assert (await api.decide(view, "A1", **approval(days=30, units=20))).status_code == 202
    line = service_line(code="90853")
    body = {"services": [line]}
    await api.call("POST", f"/episodes/{view['episode_id']}/services", "billing", json=body)
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    await api.call("POST", f"/episodes/{view['episode_id']}/claims", "billing", json=claim)
    await console.login("ops")

    page = await page_of(console, view["episode_id"])

    text = visible_text(page)
    assert "AUTH-1" in text and "active" in text and "30 days left" in text
    assert 'aria-label="1 of 20 days used, 19 remaining"' in page
    assert f"{claim['claim_id']} released" in text


async def test_a_held_claim_shows_its_reasons(console: Console) -> None:
    api = console.api
    view = await api.open()
    body = {"services": [service_line(code="90853")]}
    await api.call("POST", f"/episodes/{view['episode_id']}/services", "billing", json=body)
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    await api.call("POST", f"/episodes/{view['episode_id']}/claims", "billing", json=claim)
    await console.login("ops")

    text = visible_text(await page_of(console, view["episode_id"]))

    assert f"{claim['claim_id']} held" in text
    assert "no_authorization:" in text


async def test_an_unknown_episode_is_a_404_page(console: Console) -> None:
    await console.login("ops")

    unknown = await console.web.get(f"/console/episodes/{new_id()}")
    malformed = await console.web.get("/console/episodes/..%2Fetc")

    assert unknown.status_code == 404 and "There is no episode" in unknown.text
    assert malformed.status_code == 404


async def test_a_cancel_through_the_console_is_audited_with_the_signed_in_role(
    console: Console,
) -> None:
    view = await console.api.open()
    await console.login("intake")

    response = await console.act(view["episode_id"], "cancel", reason="patient moved away")

    assert response.status_code == 303
    assert (await console.api.view(view["episode_id"]))["state"] == "cancelled"
    audit = console.api.deps.audit_log.entries(view["episode_id"])
    # Audited under the action's own name (issue 14), not the route every action shares.
    [entry] = [e for e in audit if e.action == "console.action.cancel"]
    assert (entry.role, entry.outcome, entry.status_code) == ("intake", "ok", 303)
    assert entry.actor.startswith("token:") and "t-intake" not in entry.actor


async def test_ops_see_the_payer_submissions_with_what_was_sent(console: Console) -> None:
    from store.submissions import NewSubmission

    api = console.api
    view = await api.open()
    sent = NewSubmission(
        idempotency_key=f"{view['episode_id']}:{view['trace_number']}:initial",
        episode_id=view["episode_id"], payer_id=view["payer"]["id"],
        trace_number=view["trace_number"], purpose="initial", channel="pas",
        content_type="application/fhir+json", payload='{"resourceType": "Bundle", "x": "<b>"}',
    )  # fmt: skip
    api.deps.submission_log().start(sent, datetime.now(UTC))
    await console.login("ops")

    page = await page_of(console, view["episode_id"])

    assert "Payer submissions" in page
    assert "&lt;b&gt;" in page and "<b>" not in page.split("Payer submissions", 1)[1]
    assert "pas" in visible_text(page.split("Payer submissions", 1)[1])
    await console.login("intake")
    assert "Payer submissions" not in await page_of(console, view["episode_id"])

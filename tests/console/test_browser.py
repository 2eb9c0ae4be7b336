"""The console in real headless Chromium: intake form, worklist, actions, a payer's webhooks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.console.browser import (
    ARTIFACTS,
    chromium_context,
    require_browser,
    serving,
)
from tests.support.api_client import Api
from tests.support.api_stack import Stack, register_payers
from tests.support.intake import approval, new_id, service_line, today
from tests.support.webhooks import decision_body

require_browser()

from playwright.async_api import BrowserContext, Page, expect  # noqa: E402

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(console_stack: Stack) -> AsyncIterator[str]:
    async with serving(console_stack.app) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chromium() -> AsyncIterator[BrowserContext]:
    async with chromium_context("stepdown-chromium-") as context:
        yield context


@pytest_asyncio.fixture(loop_scope="session")
async def payer(live: str, console_stack: Stack) -> AsyncIterator[Api]:
    """Signs and posts webhooks to the live server, as a payer would."""
    async with httpx.AsyncClient(base_url=live) as http:
        yield Api(http, console_stack)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


async def fill_intake(page: Page, values: dict[str, str]) -> None:
    for selector, value in values.items():
        if await page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            await page.select_option(selector, value)
        else:
            await page.fill(selector, value)


def intake_values(payer_id: str) -> dict[str, str]:
    start = today()
    return {
        "#patient-name": "Jane Roe",
        "#patient-birth-date": "1990-04-01",
        "#patient-id": "P-100",
        "#patient-member-id": "MCD123456",
        "#payer-id": payer_id,
        "#payer-plan-type": "medicaid_managed_care",
        "#from-level": "2.1",  # not a step-down: the form must say so
        "#setting": "cmhc",
        **{f"#dimensions-{d}": r for d, r in zip("123456", "012232", strict=True)},
        "#prior-authorization-number": "PHP-998",
        "#prior-authorization-level": "2.5",
        # PHP ended over a week ago: the IOP day billed today clears the 38363 overlap rule.
        "#prior-authorization-start": (start - timedelta(days=28)).isoformat(),
        "#prior-authorization-end": (start - timedelta(days=8)).isoformat(),
        "#requested-units": "20",
        "#requested-service-codes": "S9480, 90853, 0905",
        "#diagnoses": "F-33",  # not an ICD-10-CM code: refused, then corrected
    }


async def sign_in(page: Page, live: str) -> None:
    await page.goto(f"{live}/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await shot(page, "1-login")
    await page.get_by_label("Access token").fill("t-ops")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Worklist")).to_be_visible()


async def open_through_form(page: Page, payer_id: str) -> str:
    await page.get_by_role("link", name="New episode").click()
    await fill_intake(page, intake_values(payer_id))
    await page.get_by_role("button", name="Open episode").click()
    await expect(page.locator("#from-level-error")).to_contain_text("not above 2.1")
    await expect(page.locator("#diagnoses-error")).to_contain_text("not an ICD-10-CM code")
    await expect(page.locator("#patient-name")).to_have_value("Jane Roe")
    await shot(page, "2-intake-errors")
    await fill_intake(page, {"#from-level": "2.5", "#diagnoses": "F33.1"})
    await page.get_by_role("button", name="Open episode").click()
    await expect(page.get_by_text("Episode opened")).to_be_visible()
    found = re.search(r"/console/episodes/([^?]+)", page.url)
    assert found, page.url
    await shot(page, "3-episode-opened")
    return found.group(1)


async def decide(payer: Api, episode_id: str, action: str, **fields: Any) -> None:
    view = await payer.view(episode_id)
    answer = await payer.decide(view, action, **fields)
    assert answer.status_code == 202, answer.text
    await payer.projected(episode_id, view["version"] + 1)


async def bill_one_day(payer: Api, episode_id: str) -> None:
    services = {"services": [service_line(code="90853")]}
    path = f"/episodes/{episode_id}"
    assert (await payer.call("POST", f"{path}/services", "billing", json=services)).is_success
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    released = await payer.call("POST", f"{path}/claims", "billing", json=claim)
    assert released.status_code == 201, released.text


async def work_the_denial(page: Page) -> None:
    await page.get_by_role("button", name="Request P2P").click()
    await expect(page.get_by_text("Done: request a peer-to-peer review.")).to_be_visible()
    call_at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    await page.get_by_label("Call at (your local time)").fill(call_at)
    await page.get_by_role("button", name="Schedule call").click()
    await expect(page.get_by_text("Peer-to-peer call scheduled for")).to_be_visible()
    await page.locator("#p2p-outcome-outcome").select_option("overturned")
    await page.get_by_role("button", name="Record outcome").click()
    await expect(page.get_by_text("Peer-to-peer overturned")).to_be_visible()


async def test_an_episode_goes_from_the_intake_form_through_a_denial_to_authorized(
    live: str, chromium: BrowserContext, payer: Api
) -> None:
    payer_id = new_id("payer")
    # Intake refuses a payer the directory does not know; an admin registered this one.
    register_payers(payer.deps.directory(), {payer_id: "medicaid_managed_care"})
    page = await chromium.new_page()
    await sign_in(page, live)
    episode_id = await open_through_form(page, payer_id)

    await decide(payer, episode_id, "A3", reason="not medically necessary")
    unmatched, content_type = decision_body(new_id("SD"), "A1")
    assert (await payer.webhook(payer_id, unmatched, content_type)).status_code == 404
    await page.get_by_role("link", name="Worklist").click()
    await page.select_option("#payer", payer_id)
    await page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr", has_text=episode_id)
    await expect(row).to_contain_text("P2P window closing")
    await expect(page.locator("tr.overdue")).to_contain_text("Unmatched payer webhook")
    await shot(page, "4-worklist")
    await row.get_by_role("link", name=episode_id).click()
    await expect(page.get_by_text("Denied: not medically necessary")).to_be_visible()
    await shot(page, "5-episode-denied")

    await work_the_denial(page)
    await decide(payer, episode_id, "A1", **approval(days=30, units=20, number="AUTH-77"))
    await bill_one_day(payer, episode_id)
    await page.reload()

    await expect(page.locator("#auth-h")).to_contain_text("active")
    await expect(page.get_by_text("30 days left")).to_be_visible()
    await expect(page.get_by_role("img", name="1 of 20 days used, 19 remaining")).to_be_visible()
    await expect(page.locator("#cl-h + table")).to_contain_text("released")
    await expect(page.locator("ol.timeline")).to_contain_text("Approved (A1): AUTH-77")
    await shot(page, "6-episode-authorized")

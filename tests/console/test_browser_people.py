"""A coordinator's day in real headless Chromium, as a person: sign in with a password, find a
patient from the header's search box, add a note and an attachment, cancel an episode after
confirming, see the timeline name them, read the reports and export CSV, fit 375 px with no
sideways scroll, sign out and find the old cookie refused; /docs renders with no network."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from api.identity import hash_password
from api.people import add_user
from store.sql_users import SqlUserStore
from tests.console.browser import (
    ARTIFACTS,
    chromium_context,
    require_browser,
    serving,
)
from tests.support.api_client import Api
from tests.support.api_stack import Stack

require_browser()

from playwright.async_api import BrowserContext, Dialog, Page, expect  # noqa: E402

pytestmark = pytest.mark.slow
PASSWORD = "a long chosen passphrase"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(console_stack: Stack) -> AsyncIterator[str]:
    async with serving(console_stack.app) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[BrowserContext]:
    async with chromium_context("stepdown-chromium-", accept_downloads=True) as context:
        yield context


def person(stack: Stack, name: str) -> str:
    users, now = SqlUserStore(stack.engine), stack.deps.clock()
    login = f"u{uuid.uuid4().hex[:8]}"
    record, _ = add_user(users, login, ["ops"], name, now)
    users.set_password(record.id, hash_password(PASSWORD), now)
    return login


async def shots(page: Page, name: str) -> None:
    """The page at 1280 px and at 375 px, where nothing may scroll sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.screenshot(path=str(ARTIFACTS / f"people-{name}-1280.png"), full_page=True)
    await page.set_viewport_size({"width": 375, "height": 800})
    await page.screenshot(path=str(ARTIFACTS / f"people-{name}-375.png"), full_page=True)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 375 px"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_a_coordinators_day_as_a_person(
    live: str, browser: BrowserContext, console_stack: Stack
) -> None:
    login = person(console_stack, "Dana Ortiz")
    surname = f"Okafor{uuid.uuid4().hex[:5]}"
    async with _api(console_stack, live) as api:
        view = await api.open(
            patient={"id": "P-9", "name": f"Ada {surname}", "birth_date": "1980-05-06",
                     "member_id": "MX-42"},
        )  # fmt: skip
        await api.projected(view["episode_id"], view["version"])
    page = await browser.new_page()

    await page.goto(f"{live}/console")
    await page.get_by_label("Username").fill(login)
    await page.get_by_label("Password").fill(PASSWORD)
    await shots(page, "1-sign-in")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    await expect(page.get_by_text("signed in as Dana Ortiz (ops)")).to_be_visible()
    await shots(page, "2-worklist")

    await page.get_by_label("Find a patient or episode").fill(surname.lower())
    await page.keyboard.press("Enter")
    await expect(
        page.get_by_role("heading", name=f"Episodes matching “{surname.lower()}”")
    ).to_be_visible()
    await shots(page, "3-search")
    await page.get_by_role("link", name=f"Ada {surname}").click()
    await expect(page.get_by_role("heading", name="Next step")).to_be_visible()
    await shots(page, "4-episode")

    await page.get_by_label("Add a note").fill("Called the payer's UM line; fax sent.")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.get_by_text("Note added.")).to_be_visible()
    await expect(page.locator("ol.notes")).to_contain_text("Dana Ortiz")
    await page.get_by_label("Attach clinical documentation").set_input_files(
        files=[{"name": "php-summary.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.7\nPHP discharge summary\n%%EOF"}]
    )  # fmt: skip
    await page.get_by_role("button", name="Attach", exact=True).click()
    await expect(page.get_by_text("Attachment added.")).to_be_visible()
    await expect(page.get_by_role("link", name="php-summary.pdf")).to_be_visible()
    await shots(page, "4b-note-and-attachment")

    await page.locator("#cancel-reason").fill("patient moved away")
    asked: list[str] = []

    async def decline(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    await page.get_by_role("button", name="Cancel episode").click()
    await expect(page.locator("#cancel-reason")).to_have_value("patient moved away")
    assert asked and asked[0].startswith("Cancel this episode?")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel episode").click()
    await expect(page.get_by_text("Cancelled: nothing more to do.")).to_be_visible()
    await page.reload()
    timeline = page.locator("ol.timeline")
    await expect(timeline).to_contain_text("Dana Ortiz (ops)")
    await expect(timeline).to_contain_text("Cancelled: patient moved away")
    await shots(page, "5-cancelled")

    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_text("Decisions by payer")).to_be_visible()
    await shots(page, "6-reports")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Export CSV").click()
    exported = Path(await (await downloading.value).path())
    assert exported.read_text().startswith("payer_id,plan_type,requests")

    old = [c for c in await browser.cookies() if c["name"] == "stepdown_console"]
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await browser.add_cookies(old)  # the cookie from before the sign-out, put back
    await page.goto(f"{live}/console")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_the_api_docs_render_without_any_network(live: str, browser: BrowserContext) -> None:
    page = await browser.new_page()
    outside: list[str] = []
    # The Redoc bundle asks for its logo on a CDN; the page's CSP stops it before the network.
    page.on("response", lambda r: outside.append(r.url) if not r.url.startswith(live) else None)

    docs = await page.goto(f"{live}/docs")

    await expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    await expect(page.get_by_text("/reports/summary")).to_be_visible()
    await page.goto(f"{live}/redoc")
    await expect(page.get_by_text("Reports").first).to_be_visible()
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] == []
    assert docs is not None and "default-src 'self'" in docs.headers["content-security-policy"]


def _api(stack: Stack, live: str):  # type: ignore[no-untyped-def]
    import contextlib

    import httpx

    @contextlib.asynccontextmanager
    async def client() -> AsyncIterator[Api]:
        async with httpx.AsyncClient(base_url=live) as http:
            yield Api(http, stack)

    return client()

"""axe-core in real Chromium on every console page: no serious or critical violation, and
none scrolls sideways at 375 px."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.identity import hash_password
from api.people import add_user
from store.sql_users import SqlUserStore
from tests.console.browser import (
    chromium_context,
    require_axe,
    require_browser,
    serving,
)
from tests.support.api_client import Api
from tests.support.api_stack import Stack

require_browser()

from playwright.async_api import BrowserContext, Page  # noqa: E402

pytestmark = pytest.mark.slow
BLOCKING = ("serious", "critical")
# The injected axe script is ours, not the page's: its CSP (nonce scripts only) is bypassed.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}));
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(console_stack: Stack) -> AsyncIterator[str]:
    async with serving(console_stack.app) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def checking() -> AsyncIterator[BrowserContext]:
    async with chromium_context("stepdown-axe-", bypass_csp=True) as context:
        yield context


async def denied_episode(stack: Stack) -> str:
    """An episode with the most on its page: denied, so P2P, appeal and more actions show."""
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
        api = Api(http, stack)
        view = await api.open()
        assert (await api.decide(view, "A3", reason="criteria")).status_code == 202
        await api.projected(view["episode_id"], view["version"] + 1)
    return str(view["episode_id"])


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical findings, and a sideways scroll at 375 px counted as one."""
    await page.add_script_tag(path=str(require_axe()))
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
    await page.set_viewport_size({"width": 375, "height": 800})
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    await page.set_viewport_size({"width": 1280, "height": 900})
    narrow = [{"id": "scrolls-sideways-at-375px", "impact": "serious", "px": overflow}]
    return [v for v in found if v["impact"] in BLOCKING] + (narrow if overflow > 0 else [])


async def test_no_page_has_a_serious_or_critical_violation(
    live: str, checking: BrowserContext, console_stack: Stack
) -> None:
    users, now = SqlUserStore(console_stack.engine), console_stack.deps.clock()
    login = f"u{uuid.uuid4().hex[:8]}"
    record, _ = add_user(users, login, ["ops"], "Axe Tester", now)
    users.set_password(record.id, hash_password("a long chosen passphrase"), now)
    page = await checking.new_page()
    found: dict[str, list[dict[str, Any]]] = {}

    await page.goto(f"{live}/console/login")
    found["login"] = await violations(page)
    await page.fill("#username", login)
    await page.fill("#password", "a long chosen passphrase")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live}/console")
    for name, path in (
        ("worklist", "/console"),
        ("episodes", "/console/episodes?q=roe"),
        ("intake", "/console/episodes/new"),
        ("reports", "/console/reports"),
        ("password", "/console/password"),
    ):
        await page.goto(f"{live}{path}")
        found[name] = await violations(page)
    await page.goto(f"{live}/console/episodes/new")
    await page.fill("#requested-units", "0")
    await page.get_by_role("button", name="Open episode").click()
    await page.wait_for_selector("#form-errors")
    focused = await page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "form-errors"  # the summary of what to fix has the focus
    found["intake-errors"] = await violations(page)
    episode_id = await denied_episode(console_stack)
    await page.goto(f"{live}/console/episodes/{episode_id}")
    found["episode"] = await violations(page)

    assert {name: v for name, v in found.items() if v} == {}

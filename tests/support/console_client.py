"""Shortcuts for the console tests: sign in, post forms with the CSRF token, flat intake forms."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support.api_client import Api
from tests.support.intake import intake_body

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """The page's text as a reader sees it, whitespace collapsed (scripts and styles dropped)."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)
    return " ".join(html.unescape(TAG.sub(" ", page)).split())


def flat_form(body: dict[str, Any]) -> dict[str, str]:
    """An intake body as the form's inputs name it: dotted names, lists comma-separated."""
    form: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, dict):
            for inner, item in flat_form(value).items():
                form[f"{key}.{inner}"] = item
        elif isinstance(value, list | tuple):
            form[key] = ", ".join(str(v) for v in value)
        elif value is not None:
            form[key] = str(value)
    return form


def intake_form(**overrides: Any) -> dict[str, str]:
    return flat_form(intake_body(**overrides))


class Console:
    """A browser-like client of the console and a JSON client of the API of the same app."""

    def __init__(self, web: httpx.AsyncClient, api: Api) -> None:
        self.web = web
        self.api = api

    async def login(self, role: str) -> httpx.Response:
        return await self.web.post("/console/login", data={"token": f"t-{role}"})

    async def csrf(self, path: str = "/console") -> str:
        page = await self.web.get(path, follow_redirects=True)  # intake lands on its form
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        return found.group(1)

    async def submit(
        self, path: str, data: dict[str, str], csrf: str | None = None
    ) -> httpx.Response:
        token = csrf if csrf is not None else await self.csrf()
        return await self.web.post(path, data=data | {"csrf": token})

    async def act(self, episode_id: str, action: str, **fields: str) -> httpx.Response:
        return await self.submit(f"/console/episodes/{episode_id}/actions/{action}", fields)

"""/docs and /redoc work offline (assets served by the API itself) and declare the bearer scheme."""

from __future__ import annotations

import re

import pytest

from tests.support.api_client import Api

URLS = re.compile(r"""(?:src|href)=["']?([^"' >]+)|url: ?["']([^"']+)""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_local_assets(api: Api, page: str) -> None:
    response = await api.http.get(page)

    assert response.status_code == 200
    linked = [a or b for a, b in URLS.findall(response.text)]
    assert linked and all(url.startswith("/") for url in linked), linked
    assert "cdn." not in response.text and "fonts.googleapis" not in response.text
    for url in linked:
        asset = await api.http.get(url)
        assert asset.status_code == 200, url


async def test_the_assets_are_the_real_bundles(api: Api) -> None:
    swagger = await api.http.get("/docs-assets/swagger-ui-bundle.js")
    redoc = await api.http.get("/docs-assets/redoc.standalone.js")

    assert "javascript" in swagger.headers["content-type"] and len(swagger.content) > 500_000
    assert "javascript" in redoc.headers["content-type"] and len(redoc.content) > 500_000
    assert (await api.http.get("/docs-assets/../settings.py")).status_code == 404


def test_routes_that_take_a_token_declare_the_bearer_scheme(api: Api) -> None:
    spec = api.stack.app.openapi()

    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal token (`stepdown users token USERNAME`) or a role token.",
    }
    paths = spec["paths"]
    assert paths["/worklist"]["get"]["security"] == [{"bearer": []}]
    assert paths["/episodes"]["post"]["security"] == [{"bearer": []}]
    # Payers sign their webhooks instead; health is public.
    assert "security" not in paths["/webhooks/payers/{payer_id}"]["post"]
    assert "security" not in paths["/healthz"]["get"]

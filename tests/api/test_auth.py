"""Bearer tokens and roles: 401 without a known token, 403 for a role the route does not allow."""

from __future__ import annotations

from typing import Any

import pytest

from settings import hash_token
from tests.support.api_client import Api
from tests.support.intake import intake_body, new_id, service_line

EP = "ep-auth-probe"
# Role tokens are settings (their hashes), checked before any route touches the database: the
# route x role x header matrix runs on one backend (SQLite), so its count measures behaviour.
# What does reach the database (refused callers change nothing; personal tokens and sessions,
# tests/api/test_people.py) still runs on both.
ONE_DATABASE = pytest.mark.parametrize("api_engine", ["sqlite"], indirect=True)
BODIES: dict[str, Any] = {
    "/episodes": None,  # built per test: a fresh intake body
    f"/episodes/{EP}/p2p": {"action": "request"},
    f"/episodes/{EP}/appeal": {"action": "file"},
    f"/episodes/{EP}/discharge": {
        "date": "2026-11-30",
        "patient_status": "01",
        "disposition": "completed",
    },
    f"/episodes/{EP}/cancel": {"reason": "patient moved away"},
    f"/episodes/{EP}/information": {"note": "sent the PHP discharge summary"},
    f"/episodes/{EP}/services": {"services": [service_line()]},
    f"/episodes/{EP}/claims": {"claim_id": "C-1", "through": "2026-11-30"},
    f"/episodes/{EP}/failures/retry": {},
    f"/episodes/{EP}/services/S-1/void": {"reason": "entered twice"},
    f"/episodes/{EP}/services/S-1/correct": {
        "reason": "roster signed",
        "service": service_line(service_id="S-1"),
    },
    f"/episodes/{EP}/decision-extension": {"reason": "records needed"},
    f"/episodes/{EP}/schedule": {"days_per_week": 3, "hours_per_day": "3"},
    f"/episodes/{EP}/attendance": {
        "sessions": [{"session_id": "A-1", "date": "2026-11-30", "status": "no_show"}]
    },
    f"/episodes/{EP}/owner": {"username": None},
    f"/episodes/{EP}/notes": {"text": "called the payer"},
    f"/episodes/{EP}/attachments": {"file": "not a multipart upload"},
}
# (method, path, roles allowed besides admin) for every route that needs a token.
ROUTES = [
    ("POST", "/episodes", {"intake"}),
    ("GET", f"/episodes/{EP}", {"intake", "billing", "ops"}),
    ("GET", "/episodes", {"intake", "ops"}),  # intake searches (issue 13)
    ("GET", "/episodes?q=ortiz", {"intake", "ops"}),
    ("GET", f"/episodes/{EP}/events", {"ops"}),
    ("GET", f"/episodes/{EP}/history", {"ops"}),
    ("GET", "/worklist", {"ops"}),
    ("GET", "/audit", {"ops"}),
    ("GET", "/reports/summary?from=2026-11-01&to=2026-11-30", {"ops"}),
    ("POST", f"/episodes/{EP}/p2p", {"ops"}),
    ("POST", f"/episodes/{EP}/appeal", {"ops"}),
    ("POST", f"/episodes/{EP}/discharge", {"intake", "ops"}),
    ("POST", f"/episodes/{EP}/cancel", {"intake", "ops"}),
    ("POST", f"/episodes/{EP}/information", {"intake", "ops"}),
    ("POST", f"/episodes/{EP}/services", {"billing"}),
    ("POST", f"/episodes/{EP}/claims", {"billing"}),
    ("POST", f"/episodes/{EP}/failures/retry", {"ops"}),
    ("POST", f"/episodes/{EP}/services/S-1/void", {"billing"}),
    ("POST", f"/episodes/{EP}/services/S-1/correct", {"billing"}),
    ("POST", f"/episodes/{EP}/decision-extension", {"ops"}),
    ("PUT", f"/episodes/{EP}/schedule", {"intake", "ops"}),
    ("POST", f"/episodes/{EP}/attendance", {"billing", "ops"}),
    ("PUT", f"/episodes/{EP}/owner", {"ops"}),
    ("POST", f"/episodes/{EP}/notes", {"intake", "ops"}),
    ("GET", f"/episodes/{EP}/notes", {"intake", "ops"}),
    ("POST", f"/episodes/{EP}/attachments", {"intake", "ops"}),
    ("GET", f"/episodes/{EP}/attachments", {"intake", "ops"}),
    ("GET", f"/episodes/{EP}/attachments/1", {"intake", "ops"}),
]
ROLES = ("intake", "billing", "ops")


def body_for(method: str, path: str) -> dict[str, Any]:
    if method == "GET":
        return {}
    return {"json": BODIES[path] if path != "/episodes" else intake_body()}


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
@pytest.mark.parametrize(
    "authorization",
    # The last: the hash settings keep for t-ops is not itself a token.
    [
        None,
        "Bearer not-a-token",
        "Basic dC1vcHM6",
        "Bearer ",
        "t-ops",
        f"Bearer {hash_token('t-ops')}",
    ],
)
@ONE_DATABASE
async def test_a_missing_or_unknown_token_is_a_401(
    api: Api, method: str, path: str, allowed: set[str], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = await api.call(method, path, headers=headers, **body_for(method, path))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
@ONE_DATABASE
async def test_a_role_the_route_does_not_allow_is_a_403_naming_the_roles(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    for role in set(ROLES) - allowed:
        response = await api.call(method, path, role, **body_for(method, path))

        assert response.status_code == 403, (role, response.text)
        assert response.json()["role"] == role
        assert all(name in response.json()["detail"] for name in (*allowed, "admin"))


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
@ONE_DATABASE
async def test_admin_and_the_allowed_roles_get_past_the_check(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    for role in (*allowed, "admin"):
        response = await api.call(method, path, role, **body_for(method, path))

        assert response.status_code not in (401, 403), (role, response.text)


@ONE_DATABASE
async def test_a_garbled_body_without_a_token_is_still_a_401(api: Api) -> None:
    response = await api.call(
        "POST", "/episodes", content=b"{", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 401


async def test_refused_callers_change_nothing(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    refused = [
        ("POST", f"/episodes/{episode_id}/cancel", "billing", {"reason": "no"}),
        ("POST", f"/episodes/{episode_id}/cancel", None, {"reason": "no"}),
        ("POST", f"/episodes/{episode_id}/services", "intake", {"services": [service_line()]}),
        ("POST", f"/episodes/{episode_id}/claims", "ops", {"claim_id": "C-1", "through": "x"}),
        ("POST", f"/episodes/{episode_id}/p2p", "intake", {"action": "request"}),
    ]
    for method, path, role, body in refused:
        response = await api.call(method, path, role, json=body)
        assert response.status_code in (401, 403)
    fresh = intake_body(episode_id=new_id())
    assert (await api.call("POST", "/episodes", "billing", json=fresh)).status_code == 403

    assert (await api.view(episode_id))["version"] == view["version"]
    assert (await api.call("GET", f"/episodes/{fresh['episode_id']}", "ops")).status_code == 404

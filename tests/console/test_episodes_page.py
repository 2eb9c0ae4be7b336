"""The "All episodes" page and the header search box: find a patient, filter by state, payer."""

from __future__ import annotations

import uuid

import pytest

from tests.support.console_client import Console, visible_text
from tests.support.polling import eventually


def patient(name: str, member_id: str) -> dict[str, str]:
    return {"id": "P-7", "name": name, "birth_date": "1975-06-07", "member_id": member_id}


async def test_a_visitor_is_sent_to_sign_in_first(console: Console) -> None:
    response = await console.web.get("/console/episodes?q=roe")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/episodes"


@pytest.mark.parametrize("role", ["intake", "ops", "admin"])
async def test_intake_ops_and_admin_find_a_patient_by_name(console: Console, role: str) -> None:
    surname, member = f"Quist{uuid.uuid4().hex[:6]}", f"M{uuid.uuid4().hex[:8]}"
    view = await console.api.open(patient=patient(f"Lena {surname}", member))
    await console.login(role)

    async def page() -> str | None:
        found = await console.web.get("/console/episodes", params={"q": surname.upper()})
        assert found.status_code == 200
        return found.text if view["episode_id"] in found.text else None

    text = visible_text(await eventually(page))
    assert f"Lena {surname} {member} {view['episode_id']} auth requested" in text
    assert 'name="q"' in (await console.web.get("/console/episodes")).text  # header search box


async def test_filters_narrow_and_a_miss_says_what_to_try(console: Console) -> None:
    surname = f"Brandt{uuid.uuid4().hex[:6]}"
    view = await console.api.open(patient=patient(f"Kai {surname}", "M-1"))
    await console.login("ops")
    await eventually(lambda: _found(console, surname, view["episode_id"]))

    other_state = await console.web.get(
        "/console/episodes", params={"q": surname, "state": "authorized"}
    )
    other_payer = await console.web.get(
        "/console/episodes", params={"q": surname, "payer": "nobody-pays"}
    )
    bogus = await console.web.get(
        "/console/episodes", params={"q": surname, "state": "<script>", "payer": "a b"}
    )

    assert view["episode_id"] not in other_state.text
    assert "No episode matches" in visible_text(other_state.text)
    assert view["episode_id"] not in other_payer.text
    assert view["episode_id"] in bogus.text  # unknown filter values are ignored, not errors


async def _found(console: Console, q: str, episode_id: str) -> bool:
    return episode_id in (await console.web.get("/console/episodes", params={"q": q})).text


async def test_a_query_is_shown_back_escaped(console: Console) -> None:
    await console.login("intake")

    response = await console.web.get("/console/episodes", params={"q": "<img src=x onerror=1>"})

    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert "&lt;img src=x onerror=1&gt;" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

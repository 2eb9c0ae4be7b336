"""Services and claims: line outcomes, 201 released, 202 held, one answer per claim id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.api_client import Api
from tests.support.intake import approval, new_id, service_line, today

# 90853 on 0905 is in DOMAIN §6's table; S9480 on 0905 is not (recorded with a warning).
CLEAN = {"code": "90853"}


async def authorized(api: Api) -> dict[str, Any]:
    view = await api.open()
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    return await api.view(view["episode_id"])


async def services(api: Api, episode_id: str, *lines: dict[str, Any]) -> Any:
    body = {"services": list(lines)}
    return await api.call("POST", f"/episodes/{episode_id}/services", "billing", json=body)


async def claim(api: Api, episode_id: str, claim_id: str, role: str = "billing") -> Any:
    body = {"claim_id": claim_id, "through": today().isoformat()}
    return await api.call("POST", f"/episodes/{episode_id}/claims", role, json=body)


async def test_valid_lines_are_kept_and_each_bad_line_gets_its_reason(api: Api) -> None:
    view = await authorized(api)
    good, paired = service_line(**CLEAN), service_line()
    bad = [
        service_line(rendering_npi="1234567890", **CLEAN),
        service_line(code="99999"),
        service_line(today() - timedelta(days=1), **CLEAN),
        service_line(today() + timedelta(days=1), **CLEAN),
    ]

    response = await services(api, view["episode_id"], good, paired, *bad)

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [good["service_id"], paired["service_id"]]
    codes = {line["service_id"]: line["code"] for line in body["rejected"]}
    assert codes == {
        bad[0]["service_id"]: "invalid_npi",
        bad[1]["service_id"]: "unknown_code",
        bad[2]["service_id"]: "before_episode",
        bad[3]["service_id"]: "future_date",
    }
    assert all(line["detail"] for line in body["rejected"])
    assert [w["service_id"] for w in body["warnings"]] == [paired["service_id"]]
    assert body["episode"]["version"] == view["version"] + 1


async def test_the_same_lines_again_are_duplicates_and_change_nothing(api: Api) -> None:
    view = await authorized(api)
    line = service_line(**CLEAN)
    first = (await services(api, view["episode_id"], line)).json()

    again = await services(api, view["episode_id"], line)

    assert again.status_code == 200
    assert (again.json()["accepted"], again.json()["duplicates"]) == ([], [line["service_id"]])
    assert again.json()["episode"]["version"] == first["episode"]["version"]


async def test_a_batch_with_no_good_line_is_422_pointing_at_each_line(api: Api) -> None:
    view = await authorized(api)
    lines = [service_line(code="99999"), service_line(rendering_npi="1234567890", **CLEAN)]

    response = await services(api, view["episode_id"], *lines)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["pointer"] for e in errors] == ["#/services/0", "#/services/1"]
    assert "no service was recorded" in response.json()["detail"]
    assert (await api.view(view["episode_id"]))["version"] == view["version"]


async def test_malformed_lines_are_422_with_pointers_and_unknown_episodes_404(api: Api) -> None:
    view = await authorized(api)

    empty = await services(api, view["episode_id"])
    malformed = await services(api, view["episode_id"], service_line(revenue_code="9", units=0))
    unknown = await services(api, new_id(), service_line(**CLEAN))

    assert empty.status_code == 422
    pointers = {e["pointer"] for e in malformed.json()["errors"]}
    assert pointers == {"#/services/0/revenue_code", "#/services/0/units"}
    assert unknown.status_code == 404
    assert (await api.view(view["episode_id"]))["version"] == view["version"]


async def test_a_covered_claim_is_released_201_and_the_same_id_answers_the_same(
    api: Api,
) -> None:
    view = await authorized(api)
    await services(api, view["episode_id"], service_line(**CLEAN))
    claim_id = new_id("C")

    first = await claim(api, view["episode_id"], claim_id)
    again = await claim(api, view["episode_id"], claim_id, role="admin")

    assert first.status_code == 201
    body = first.json()
    assert (body["claim_id"], body["status"]) == (claim_id, "released")
    released = body["claim"]
    assert {"type_of_bill", "condition_codes", "patient_status", "from", "through"} <= set(released)
    [line] = released["lines"]
    assert (line["revenue_code"], line["hcpcs"], line["charge"]) == ("0905", "90853", "150.00")
    assert (again.status_code, again.json()) == (201, body)
    claims = (await api.view(view["episode_id"]))["claims"]
    assert [c["claim_id"] for c in claims] == [claim_id]


async def test_a_claim_without_coverage_is_held_202_with_reasons(api: Api) -> None:
    view = await api.open()
    line = service_line(**CLEAN)
    await services(api, view["episode_id"], line)

    response = await claim(api, view["episode_id"], new_id("C"))

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "held" and "claim" not in body
    [reason] = body["reasons"]
    assert reason["code"] == "no_authorization" and reason["lines"] == [line["service_id"]]


async def test_a_claim_with_nothing_to_bill_is_409_and_changes_nothing(api: Api) -> None:
    view = await authorized(api)

    response = await claim(api, view["episode_id"], new_id("C"))

    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_bill"
    assert "record the attended services" in response.json()["detail"]
    assert (await api.view(view["episode_id"]))["version"] == view["version"]


async def test_claim_requests_that_make_no_sense_are_422_and_unknown_episodes_404(
    api: Api,
) -> None:
    view = await authorized(api)
    path = f"/episodes/{view['episode_id']}/claims"

    for body in ({"claim_id": "has space", "through": "2026-11-30"}, {"claim_id": "C-1"}):
        assert (await api.call("POST", path, "billing", json=body)).status_code == 422

    assert (await claim(api, new_id(), "C-1")).status_code == 404
    assert (await api.view(view["episode_id"]))["version"] == view["version"]


async def test_late_lines_of_a_month_before_one_already_sent_go_out_on_their_own_claim(
    api: Api,
) -> None:
    # A course from late last month: this month's claim goes out first, then last month's
    # lines are recorded late. They go out as last month's own claim (never held, §6).
    last_month = today().replace(day=1) - timedelta(days=1)
    start, php_end = last_month - timedelta(days=3), last_month - timedelta(days=30)
    view = await api.open(
        requested={
            "start": start.isoformat(),
            "units": 20,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        prior_authorization={
            "number": "PHP-1",
            "level": "2.5",
            "start": (php_end - timedelta(days=20)).isoformat(),
            "end": php_end.isoformat(),
        },
        php_last_claim_through=php_end.isoformat(),
    )
    retro = approval() | {"start": start, "end": today() + timedelta(days=30)}
    assert (await api.decide(view, "A1", **retro)).status_code == 202
    episode_id = view["episode_id"]
    await services(api, episode_id, service_line(**CLEAN))
    assert (await claim(api, episode_id, "C-THIS")).status_code == 201
    late = service_line(last_month, **CLEAN)
    assert (await services(api, episode_id, late)).status_code == 200

    response = await claim(api, episode_id, "C-LATE")

    assert response.status_code == 201, response.text
    sent = response.json()["claim"]
    assert [line["service_id"] for line in sent["lines"]] == [late["service_id"]]
    assert sent["type_of_bill"].endswith("2") and sent.get("replaces") is None
    assert any("out of month order" in w for w in sent["warnings"])
    claims = (await api.view(episode_id))["claims"]
    assert sorted((c["claim_id"], c["status"]) for c in claims) == [
        ("C-LATE", "released"),
        ("C-THIS", "released"),
    ]

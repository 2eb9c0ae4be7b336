"""POST /episodes and GET /episodes/{id}: open once, idempotent, every problem in one 422."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.service import RPCError, RPCStatusCode

from tests.support.api_client import Api
from tests.support.intake import intake_body, new_id

PROBLEM_JSON = "application/problem+json"


async def test_opening_an_episode_answers_201_with_the_view_and_projects_it(api: Api) -> None:
    body = intake_body()

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 201
    view = response.json()
    assert response.headers["location"] == f"/episodes/{body['episode_id']}"
    assert view["episode_id"] == body["episode_id"]
    assert view["state"] == "auth_requested"
    assert view["trace_number"].startswith("SD-")
    assert view["deadlines"][0]["kind"] == "payer_decision_due"
    assert view["units"] == {"approved": 0, "used": 0, "remaining": 0}
    await api.projected(body["episode_id"], view["version"])


async def test_the_same_body_again_answers_200_with_the_current_view(api: Api) -> None:
    body = intake_body()
    first = await api.call("POST", "/episodes", "intake", json=body)

    again = await api.call("POST", "/episodes", "intake", json=body)

    assert again.status_code == 200
    assert again.json() == first.json()


async def test_the_same_id_with_another_body_is_a_409_and_changes_nothing(api: Api) -> None:
    body = intake_body()
    view = (await api.call("POST", "/episodes", "intake", json=body)).json()
    other = body | {"urgency": "expedited"}

    response = await api.call("POST", "/episodes", "intake", json=other)

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "other details" in response.json()["detail"]
    assert (await api.view(body["episode_id"]))["version"] == view["version"]


async def test_every_domain_problem_is_listed_in_one_422_and_nothing_is_opened(api: Api) -> None:
    body = intake_body(
        from_level="2.1",
        to_level="2.5",
        dimensions={"1": 9, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        diagnoses=["NOT-A-CODE"],
    )

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("invalid_input")
    assert len(problem["errors"]) >= 3
    text = " ".join(item["detail"] for item in problem["errors"]).lower()
    assert "step" in text and "dimension" in text
    missing = await api.call("GET", f"/episodes/{body['episode_id']}", "ops")
    assert missing.status_code == 404
    # No workflow was started, so no projection can ever arrive (rather than waiting a while
    # and reading nothing, which passes as well when the projection is merely slow).
    with pytest.raises(RPCError) as never_started:
        await api.deps.episodes.handle(body["episode_id"]).describe()
    assert never_started.value.status == RPCStatusCode.NOT_FOUND
    assert await asyncio.to_thread(api.deps.read_model.summary, body["episode_id"]) is None


async def test_every_malformed_field_is_listed_with_a_pointer(api: Api) -> None:
    body = intake_body() | {"episode_id": "has spaces", "setting": "castle"}
    del body["payer"]
    body["patient"]["birth_date"] = "yesterday"
    body["surprise"] = True

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 422
    pointers = {item["pointer"] for item in response.json()["errors"]}
    assert {
        "#/episode_id",
        "#/setting",
        "#/payer",
        "#/patient/birth_date",
        "#/surprise",
    } <= pointers


async def test_a_body_that_is_not_json_is_a_422_problem(api: Api) -> None:
    response = await api.call(
        "POST",
        "/episodes",
        "intake",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#"
    assert "not valid JSON" in response.json()["detail"]


async def test_reading_an_episode_gives_its_view_to_intake_billing_and_ops(api: Api) -> None:
    view = await api.open()

    for role in ("intake", "billing", "ops", "admin"):
        response = await api.call("GET", f"/episodes/{view['episode_id']}", role)
        assert response.status_code == 200
        assert response.json() == view


async def test_reading_an_unknown_episode_is_a_404_problem(api: Api) -> None:
    response = await api.call("GET", f"/episodes/{new_id()}", "ops")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "No such episode"


async def test_an_episode_id_outside_the_pattern_is_a_422(api: Api) -> None:
    response = await api.call("GET", "/episodes/-starts-with-dash", "ops")

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "episode_id"


async def test_a_malformed_address_or_attending_is_a_422_naming_each_and_opens_nothing(
    api: Api,
) -> None:
    body = intake_body()
    body["patient"]["address"] = {"line": "1 Main", "city": "Salem", "state": "Oregon",
                                  "zip": "9730", "country": "US"}  # fmt: skip
    body["attending"] = {"npi": "12345", "last_name": ""}

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    pointers = {item["pointer"] for item in response.json()["errors"]}
    assert {
        "#/patient/address/state",
        "#/patient/address/zip",
        "#/patient/address/country",
        "#/attending/npi",
        "#/attending/last_name",
        "#/attending/first_name",
    } <= pointers
    missing = await api.call("GET", f"/episodes/{body['episode_id']}", "ops")
    assert missing.status_code == 404


async def test_an_attending_npi_failing_its_check_digit_is_a_domain_422(api: Api) -> None:
    body = intake_body(attending={"npi": "1234567890", "last_name": "Okafor", "first_name": "A"})

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 422 and response.json()["type"].endswith("invalid_input")
    assert "attending.npi 1234567890 fails its check digit" in response.text


async def test_an_episode_may_be_opened_without_address_or_attending(api: Api) -> None:
    body = intake_body(attending=None)
    body["patient"].pop("address")

    response = await api.call("POST", "/episodes", "intake", json=body)

    assert response.status_code == 201, response.text

"""The intake form: opens an episode, or shows every problem at its input and keeps the input."""

from __future__ import annotations

import re

from api.console.intake import field_of_problem, problem_errors
from tests.support.console_client import Console, intake_form, visible_text


def error_under(page: str, name: str) -> str:
    """The error text rendered under the input called `name` ("" when there is none)."""
    ident = name.replace(".", "-").replace("_", "-")
    found = re.search(rf'<div class="error" id="{re.escape(ident)}-error">(.*?)</div>', page)
    return visible_text(found.group(1)) if found else ""


async def test_a_valid_form_opens_the_episode_and_shows_its_page(console: Console) -> None:
    await console.login("intake")
    form = intake_form()

    response = await console.submit("/console/episodes/new", form)

    assert response.status_code == 303
    location = response.headers["location"]
    assert location == f"/console/episodes/{form['episode_id']}?done=opened"
    assert form["patient.name"] not in location  # no PHI in addresses
    page = await console.web.get(location)
    text = visible_text(page.text)
    assert page.status_code == 200
    assert "Episode opened" in text
    assert "auth requested" in text


async def test_model_errors_appear_at_their_inputs_and_what_was_typed_stays(
    console: Console,
) -> None:
    await console.login("intake")
    form = intake_form() | {
        "patient.birth_date": "not-a-date",
        "requested.units": "0",
        "payer.plan_type": "",
        "dimensions.3": "x",
        "patient.name": "Jane <Roe>",
    }

    response = await console.submit("/console/episodes/new", form)

    page = response.text
    assert response.status_code == 422
    assert "valid date" in error_under(page, "patient.birth_date")
    assert "greater than 0" in error_under(page, "requested.units")
    assert error_under(page, "payer.plan_type") == "required"
    assert "whole number" in error_under(page, "dimensions.3")  # plain words (issue 13)
    assert "Input should" not in page
    assert 'value="Jane &lt;Roe&gt;"' in page
    assert 'name="requested.units" value="0" aria-invalid="true"' in page
    assert "4 problem(s)" in visible_text(page)


async def test_the_domains_refusals_appear_at_their_inputs(console: Console) -> None:
    await console.login("ops")
    form = intake_form() | {
        "from_level": "2.1",
        "dimensions.2": "7",
        "requested.service_codes": "S9480, ZZZZZ",
        "diagnoses": "banana",
    }

    response = await console.submit("/console/episodes/new", form)

    page = response.text
    assert response.status_code == 422
    assert "not above 2.1" in error_under(page, "from_level")
    assert "risk must be 0..4" in error_under(page, "dimensions.2")
    assert "'ZZZZZ' is not a known" in error_under(page, "requested.service_codes")
    assert "not an ICD-10-CM code" in error_under(page, "diagnoses")
    assert 'value="S9480, ZZZZZ"' in page


async def test_the_same_id_with_other_details_is_a_conflict_at_the_episode_id(
    console: Console,
) -> None:
    await console.login("intake")
    form = intake_form()
    await console.submit("/console/episodes/new", form)

    again = await console.submit("/console/episodes/new", form)
    other = await console.submit("/console/episodes/new", form | {"patient.name": "Someone Else"})

    assert again.status_code == 303 and again.headers["location"].endswith("done=already-open")
    assert other.status_code == 409
    assert "opened with other details" in error_under(other.text, "episode_id")


async def test_the_new_episode_page_suggests_an_id_and_todays_start(console: Console) -> None:
    await console.login("intake")

    page = (await console.web.get("/console/episodes/new")).text

    assert re.search(r'name="episode_id" value="ep-\d{4}-[0-9a-f]{8}"', page)
    for label in ("Name", "Birth date", "Plan type", "Dimension 6", "Service codes", "Diagnoses"):
        assert f">{label}" in page


def test_domain_sentences_are_placed_at_the_input_they_name() -> None:
    assert field_of_problem("prior_authorization.level '3.1' differs from …") == (
        "prior_authorization.level"
    )
    assert field_of_problem("dimension 6 is not rated in ASAM edition 4") == "dimensions.6"
    assert field_of_problem("asam_edition must be 3 or 4, got 5") == "asam_edition"
    assert field_of_problem("something else entirely") == "form"
    assert problem_errors(["diagnoses: 'x' is not an ICD-10-CM code"]) == {
        "diagnoses": ["'x' is not an ICD-10-CM code"]
    }


async def test_a_payer_missing_from_the_directory_is_shown_at_its_input(console: Console) -> None:
    await console.login("intake")
    form = intake_form() | {"payer.id": "nobody-registered-this"}

    response = await console.submit("/console/episodes/new", form)

    assert response.status_code == 422
    assert "not in the payer directory" in error_under(response.text, "payer.id")
    missing = await console.api.call("GET", f"/episodes/{form['episode_id']}", "ops")
    assert missing.status_code == 404

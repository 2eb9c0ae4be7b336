"""What an authorization request carries to the payer (workflows/effects.py activity_call):
the member, the diagnoses, the units and the levels of care of the episode, for the initial
request and for a concurrent-review extension (DOMAIN.md §5)."""

from __future__ import annotations

from typing import Any

from activities.episode import AuthorizationSubmission, EpisodeActivities, ExtensionSubmission
from domain import events as ev
from domain.effects import effects_of
from tests.support.scenario import Scenario
from workflows.effects import activity_call


def submitted(s: Scenario, events: list[ev.Event]) -> tuple[Any, Any]:
    [requested] = [e for e in events if isinstance(e, ev.AuthorizationRequested)]
    [effect] = effects_of(requested, len(s.events))
    return activity_call(s.state, effect)


def test_the_initial_request_carries_member_diagnoses_units_and_levels() -> None:
    s = Scenario(diagnoses=["F33.1", "F10.20"])

    activity, request = submitted(s, s.events)

    assert activity is EpisodeActivities.submit_authorization_request
    assert isinstance(request, AuthorizationSubmission)
    assert (request.payer_id, request.trace_number) == ("acme-medicaid", s.trace)
    payload = request.payload
    assert payload["purpose"] == "initial"
    assert payload["member_id"] == "MCD123456"
    assert payload["diagnoses"] == ["F33.1", "F10.20"]
    assert payload["units"] == 20
    assert payload["requested"]["units"] == 20
    assert payload["requested"]["unit_type"] == "days"
    assert payload["requested"]["service_codes"] == ["S9480", "90853", "0905"]
    assert (payload["from_level"], payload["to_level"]) == ("2.5", "2.1")
    assert payload["asam_edition"] == 3
    assert payload["dimensions"] == {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2}
    assert (payload["urgency"], payload["setting"]) == ("standard", "cmhc")
    assert payload["plan_type"] == "medicaid_managed_care"
    assert payload["patient"] == {"name": "Jane Roe", "birth_date": "1990-04-01"}
    assert payload["authorizations"] == []


def test_another_member_and_amount_reach_the_request() -> None:
    s = Scenario(
        patient={"id": "P-7", "name": "Ann Lee", "birth_date": "1985-02-03", "member_id": "ZZ9"},
        requested={"start": "2026-11-23", "units": 12, "unit_type": "sessions",
                   "service_codes": ["H0004"]},
    )  # fmt: skip

    _, request = submitted(s, s.events)

    assert request.payload["member_id"] == "ZZ9"
    assert request.payload["units"] == 12
    assert request.payload["requested"]["unit_type"] == "sessions"


def test_a_concurrent_review_asks_for_an_extension_with_the_current_authorization() -> None:
    s = Scenario()
    s.approve(units=20)

    activity, request = submitted(s, s.fire("concurrent_review_due"))

    assert activity is EpisodeActivities.submit_extension_request
    assert isinstance(request, ExtensionSubmission)
    assert request.trace_number == s.trace and request.trace_number.endswith("-2")
    payload = request.payload
    assert payload["purpose"] == "extension"
    assert payload["units"] == 20
    assert payload["member_id"] == "MCD123456"
    assert payload["to_level"] == "2.1"
    [auth] = payload["authorizations"]
    assert (auth["number"], auth["units"], auth["end"]) == ("AUTH-1", 20, "2026-12-31")

"""The PAS request Bundle: a Claim for preauthorization first, every reference resolved inside
the Bundle, ASAM facts as supporting info, and valid against the FHIR R4B models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from activities.episode import idempotency_key
from activities.ports import PayerRequest
from payers.formats.pas_request import (
    IncompleteRequest,
    Provider,
    bundle_json,
    inquiry_bundle,
    submit_bundle,
)

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
PROVIDER = Provider("Riverside CMHC", "1234567893", "Ada Byron King", "1245319599")


def payload(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "purpose": "initial",
        "units": 20,
        "requested": {"start": "2026-11-23", "units": 20, "unit_type": "days",
                      "service_codes": ["S9480", "90853", "0905"]},
        "from_level": "2.5", "to_level": "2.1", "asam_edition": 3,
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "diagnoses": ["F33.1", "F10.20"], "urgency": "standard", "member_id": "MCD123456",
        "authorizations": [],
        "patient": {"name": "Jane Q Roe", "birth_date": "1990-04-01"},
    }  # fmt: skip
    return values | overrides


def request(purpose: str = "initial", **overrides: Any) -> PayerRequest:
    trace = "SD-ep-1-1"
    return PayerRequest(
        episode_id="ep-1",
        trace_number=trace,
        purpose=purpose,  # type: ignore[arg-type]
        payer_id="acme-medicaid",
        idempotency_key=idempotency_key("ep-1", trace, purpose),  # type: ignore[arg-type]
        payload=payload(purpose=purpose, **overrides),
    )


def as_json(bundle: Bundle) -> dict[str, Any]:
    document: dict[str, Any] = bundle.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document


def resources(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
            for e in document["entry"]}  # fmt: skip


def test_the_bundle_is_valid_r4_and_starts_with_a_preauthorization_claim() -> None:
    document = as_json(submit_bundle(request(), PROVIDER, "Acme Medicaid", NOW))

    again = Bundle.model_validate_json(bundle_json(submit_bundle(request(), PROVIDER, "A", NOW)))
    claim = document["entry"][0]["resource"]
    assert again.type == "collection" and document["type"] == "collection"
    assert (claim["resourceType"], claim["use"]) == ("Claim", "preauthorization")
    assert claim["identifier"][0]["value"] == "SD-ep-1-1"
    assert document["identifier"]["value"] == "ep-1:SD-ep-1-1:initial"


def test_every_reference_of_the_claim_is_an_entry_of_the_bundle() -> None:
    document = as_json(submit_bundle(request(), PROVIDER, "Acme Medicaid", NOW))
    claim, found = document["entry"][0]["resource"], resources(document)

    references = [claim["patient"], claim["insurer"], claim["provider"],
                  claim["insurance"][0]["coverage"], claim["careTeam"][0]["provider"]]  # fmt: skip
    assert all(ref["reference"] in found for ref in references)
    assert found["Patient/patient"]["name"] == [{"family": "Roe", "given": ["Jane", "Q"]}]
    assert found["Coverage/coverage"]["subscriberId"] == "MCD123456"
    assert found["Organization/requester"]["identifier"][0]["value"] == "1234567893"
    assert found["Practitioner/rendering"]["identifier"][0]["value"] == "1245319599"


def test_items_carry_codes_dates_quantities_and_diagnoses() -> None:
    claim = as_json(submit_bundle(request(), PROVIDER, "Acme", NOW))["entry"][0]["resource"]

    items = claim["item"]
    assert [i["productOrService"]["coding"][0]["code"] for i in items] == [
        "S9480", "90853", "not-applicable"]  # fmt: skip
    assert items[2]["revenue"]["coding"][0]["code"] == "0905"
    assert items[0]["servicedPeriod"] == {"start": "2026-11-23", "end": "2026-12-12"}
    assert items[0]["quantity"]["value"] == 20 and items[0]["quantity"]["code"] == "DY"
    assert items[0]["diagnosisSequence"] == [1, 2]
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "F33.1", "F10.20"]  # fmt: skip


def test_asam_levels_and_dimension_ratings_are_supporting_info() -> None:
    claim = as_json(submit_bundle(request(), PROVIDER, "Acme", NOW))["entry"][0]["resource"]

    info = claim["supportingInfo"]
    levels = [i["code"]["coding"][0]["code"] for i in info if "valueString" in i]
    ratings = {i["code"]["coding"][0]["code"]: i["valueQuantity"]["value"] for i in info
               if "valueQuantity" in i}  # fmt: skip
    assert levels == ["2.1", "2.5"]
    assert ratings == {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2}
    assert [i["sequence"] for i in info] == list(range(1, len(info) + 1))


def test_an_extension_starts_after_the_current_authorization_and_names_it() -> None:
    current = {"number": "AUTH-9", "start": "2026-11-01", "end": "2026-11-30", "units": 20,
               "unit_type": "days", "service_codes": ["S9480"]}  # fmt: skip
    extension = request("extension", units=10, authorizations=[current])

    claim = as_json(submit_bundle(extension, PROVIDER, "Acme", NOW))["entry"][0]["resource"]

    item = claim["item"][0]
    assert item["servicedPeriod"]["start"] == "2026-12-01"
    assert item["quantity"]["value"] == 10
    urls = {e["url"].rsplit("-", 1)[-1]: e for e in item["extension"]}
    assert urls["authorizationNumber"]["valueString"] == "AUTH-9"
    assert urls["certificationType"]["valueCodeableConcept"]["coding"][0]["code"] == "4"


def test_an_expedited_request_is_stat_and_urgent() -> None:
    claim = as_json(submit_bundle(request(urgency="expedited"), PROVIDER, "A", NOW))
    resource = claim["entry"][0]["resource"]

    assert resource["priority"]["coding"][0]["code"] == "stat"
    assert resource["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "U"


def test_the_inquiry_bundle_identifies_the_same_request() -> None:
    document = as_json(inquiry_bundle(request(), PROVIDER, "Acme", NOW))

    assert document["meta"]["profile"][0].endswith("profile-pas-inquiry-request-bundle")
    assert document["entry"][0]["resource"]["identifier"][0]["value"] == "SD-ep-1-1"


def test_without_a_rendering_practitioner_there_is_no_care_team() -> None:
    document = as_json(submit_bundle(request(), Provider("Riverside", "1234567893"), "A", NOW))

    assert "careTeam" not in document["entry"][0]["resource"]
    assert "Practitioner/rendering" not in resources(document)


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"member_id": ""}, "member id"),
     ({"requested": {"start": "2026-11-23", "units": 1, "service_codes": []}}, "service codes")],
)  # fmt: skip
def test_a_payload_missing_what_pas_needs_is_refused(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(IncompleteRequest, match=problem):
        submit_bundle(request(**change), PROVIDER, "Acme", NOW)

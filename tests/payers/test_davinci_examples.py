"""The Da Vinci PAS IG's own example responses (approved, denied, pended) parse to the right
decision; X12 service type codes never narrow the procedure codes an authorization covers."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from payers.formats import parse_decision

FIXTURES = Path(__file__).parent / "fixtures" / "davinci"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
SERVICE_TYPE = "https://codesystem.x12.org/005010/1365"


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


def parse(document: dict[str, Any]) -> Any:
    return parse_decision("application/fhir+json", json.dumps(document).encode())


@pytest.mark.parametrize("name", ["approved", "denied", "pended"])
def test_every_example_is_a_valid_r4_bundle(name: str) -> None:
    bundle = Bundle.model_validate(example(name))

    assert bundle.entry[0].resource.get_resource_type() == "ClaimResponse"


def test_the_approved_example_is_a1_with_its_number_period_and_quantity() -> None:
    decision = parse(example("approved"))

    assert (decision.action, decision.trace_number) == ("A1", "111099")
    assert decision.authorization_number == "AUTH0001"
    assert (decision.start, decision.end) == (date(2005, 5, 2), date(2005, 6, 2))
    assert (decision.units, decision.unit_type) == (1, None)
    # Its authorized detail is 1365#3 "Consultation": a category, so the requested codes stay.
    assert decision.service_codes == ()


def test_the_denied_example_is_a3() -> None:
    decision = parse(example("denied"))

    assert (decision.action, decision.authorization_number, decision.units) == ("A3", None, None)


def test_the_pended_example_is_a4_with_its_administration_reference() -> None:
    decision = parse(example("pended"))

    assert (decision.action, decision.reference) == ("A4", "PEND0001")


def _authorized_codes(document: dict[str, Any]) -> list[dict[str, Any]]:
    claim_response = document["entry"][0]["resource"]
    detail = claim_response["item"][0]["extension"][4]["extension"]
    codings: list[dict[str, Any]] = detail[0]["valueCodeableConcept"]["coding"]
    return codings


def test_only_hcpcs_codings_restrict_the_authorized_procedure_codes() -> None:
    document = copy.deepcopy(example("approved"))
    _authorized_codes(document).append({"system": HCPCS, "code": "H0015"})

    decision = parse(document)

    assert decision.service_codes == ("H0015",)


@pytest.mark.parametrize("code", ["3", "AI", "A8"])
def test_a_service_type_code_alone_leaves_the_codes_open(code: str) -> None:
    document = copy.deepcopy(example("approved"))
    _authorized_codes(document)[0] = {"system": SERVICE_TYPE, "code": code}

    assert parse(document).service_codes == ()

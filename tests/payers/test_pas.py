"""Da Vinci PAS ClaimResponses: realistic responses, malformed variants and the round trip."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.model import PayerDecision
from payers.formats import UnparseableDecision, parse_decision
from payers.formats.examples import EXAMPLES, pas_body
from tests.support.payer_strategies import decisions

FIXTURES = Path(__file__).parent / "fixtures"
Json = dict[str, Any]


def load(name: str) -> Json:
    document: Json = json.loads((FIXTURES / name).read_text())
    return document


def parse(document: Any) -> PayerDecision:
    return parse_decision("application/fhir+json", json.dumps(document).encode())


def review_action(document: Json, index: int = 0) -> list[Json]:
    """The sub-extensions of item[index]'s reviewAction."""
    sub: list[Json] = document["item"][index]["adjudication"][0]["extension"][0]["extension"]
    return sub


def test_approval_bundle_gives_number_period_units_and_codes() -> None:
    decision = parse_decision(
        "application/fhir+json", (FIXTURES / "pas_approve_bundle.json").read_bytes()
    )
    assert decision == EXAMPLES["approve"]


def test_modified_decision_takes_what_was_authorized_from_add_item() -> None:
    decision = parse(load("pas_modified.json"))
    assert decision.action == "A6"
    assert (decision.units, decision.unit_type) == (12, "sessions")
    assert decision.service_codes == ("H0015",)
    assert (decision.start, decision.end) == (date(2026, 11, 23), date(2026, 12, 18))
    assert decision.authorization_number == "ACME-IOP-558201"


def test_denial_keeps_the_reason_code_and_its_text() -> None:
    assert parse(load("pas_deny.json")) == EXAMPLES["deny"]


def test_pended_response_keeps_the_administration_reference_number() -> None:
    assert parse(load("pas_pend.json")) == EXAMPLES["pend"]


def test_item_trace_number_is_used_when_the_response_has_no_identifier() -> None:
    document = load("pas_approve_bundle.json")
    del document["entry"][0]["resource"]["identifier"]
    assert parse(document).trace_number == "SD-ep-2026-0001-1-L1"


def test_header_pre_auth_period_is_used_when_items_have_none() -> None:
    document = load("pas_deny.json")
    document["preAuthPeriod"] = {"start": "2026-11-23T00:00:00-05:00", "end": "2026-11-30"}
    assert (parse(document).start, parse(document).end) == (date(2026, 11, 23), date(2026, 11, 30))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_decision_survives_rendering(name: str) -> None:
    example = EXAMPLES[name]
    assert parse_decision("application/fhir+json", pas_body(example)) == example


@given(decisions(), st.booleans())
def test_any_decision_round_trips_through_a_claim_response(
    decision: PayerDecision, bundle: bool
) -> None:
    # Only what FHIR can carry: a code has no whitespace at its ends or runs of it inside, a
    # string no whitespace but space, tab and line breaks.
    assume(decision.reason_code is None or FHIR_CODE.fullmatch(decision.reason_code))
    strings = (decision.trace_number, decision.authorization_number, decision.reason,
               decision.reference)  # fmt: skip
    assume(all(FHIR_STRING.fullmatch(v) for v in strings if v is not None))
    assert parse_decision("application/fhir+json", pas_body(decision, bundle=bundle)) == decision


FHIR_CODE = re.compile(r"[^\s]+(\s[^\s]+)*")
FHIR_STRING = re.compile(r"[ \r\n\t\S]+")


def _drop_trace(doc: Json) -> None:
    del doc["identifier"]
    del doc["item"][0]["extension"][0]  # itemTraceNumber


def _action(
    code: str, system: str = "https://codesystem.x12.org/005010/306"
) -> Callable[[Json], None]:
    def change(doc: Json) -> None:
        review_action(doc)[0]["valueCodeableConcept"] = {
            "coding": [{"system": system, "code": code}]
        }

    return change


def _second_item(code: str) -> Callable[[Json], None]:
    def change(doc: Json) -> None:
        doc["item"].append(copy.deepcopy(doc["item"][0]))
        review_action(doc, 1)[0]["valueCodeableConcept"]["coding"][0]["code"] = code

    return change


def _set(path: str, value: Any) -> Callable[[Json], None]:
    def change(doc: Json) -> None:
        *steps, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for step in steps:
            node = node[step]
        node[last] = value

    return change


PERIOD = "item.0.extension.2.valuePeriod"
QUANTITY = "item.0.extension.3.extension.2.valueQuantity"
MALFORMED = [
    (_drop_trace, r"no trace number: set ClaimResponse.identifier\[0\].value"),
    (_action("A9"), r"unknown review action code 'A9' \(expected one of A1, A2, A3"),
    (_action("A1", "http://example.org/codes"), r"has no coding from https://codesystem"),
    (_second_item("A3"), r"items carry different review actions \(A1, A3\)"),
    (_set(PERIOD + ".end", "2026-02-30"), r"valuePeriod.end '2026-02-30': .*day value is outside"),
    (_set(PERIOD + ".end", "2026-11-01"), r"end 2026-11-01 is before .*start 2026-11-23"),
    (_set(QUANTITY + ".value", "twenty"), r"valueQuantity.value 'twenty': .*Decimal"),
    (_set(QUANTITY + ".value", 2.5), r"item\[0\] quantity value 2.5 must be a whole number"),
    (_set(QUANTITY + ".code", "MN"), r"code 'MN' is not a supported quantity qualifier"),
    (_set(QUANTITY + ".unit", 20), r"valueQuantity.unit 20: Input should be a valid string"),
    (_set("item", {"itemSequence": 1}), r"ClaimResponse.item: Input should be a valid list"),
    (_set("item.0.adjudication.0.extension.0.extension", "A1"), r"extension 'A1': .*valid list"),
    (_set("item.0.adjudication.0.extension.0.extension.0.url", None), r"\.url: .*required"),
    (_set("item.0.itemSequence", "first"), r"itemSequence 'first': .*valid integer"),
    (_set("patient", "Patient/1"), r"ClaimResponse.patient 'Patient/1': Invalid JSON"),
    (_set("unknownElement", True), r"unknownElement True: Extra inputs are not permitted"),
    (_set("outcome", "approved"), r"outcome 'approved' is not one of queued, complete"),
    (_set("created", "yesterday"), r"ClaimResponse.created 'yesterday': .*DateTime"),
    (_set("item.0.adjudication", []), r"no review decision: expected item.adjudication"),
    (_set("resourceType", "Patient"), r"or a Bundle .* got resourceType 'Patient'"),
]


@pytest.mark.parametrize(("change", "detail"), MALFORMED)
def test_malformed_claim_response_is_rejected_naming_the_element(
    change: Callable[[Json], None], detail: str
) -> None:
    document = load("pas_approve_bundle.json")["entry"][0]["resource"]
    change(document)
    with pytest.raises(UnparseableDecision, match=detail):
        parse(document)


def test_two_items_with_the_same_action_make_one_decision() -> None:
    document = load("pas_approve_bundle.json")["entry"][0]["resource"]
    _second_item("A1")(document)
    assert parse(document).action == "A1"


def test_bundle_must_start_with_the_claim_response() -> None:
    document = load("pas_approve_bundle.json")
    document["entry"].reverse()
    with pytest.raises(UnparseableDecision, match="Bundle's first entry must be a ClaimResponse"):
        parse(document)


def test_error_outcome_without_a_decision_reports_the_payer_error_codes() -> None:
    document = load("pas_deny.json")
    document["outcome"] = "error"
    document["item"] = []
    document["error"] = [{"code": {"coding": [{"code": "15"}]}}]
    with pytest.raises(UnparseableDecision, match=r"outcome is 'error' \(payer error codes: 15\)"):
        parse(document)

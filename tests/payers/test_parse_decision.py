"""Dispatch on Content-Type, and the promise that any body raises only the two format errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payers.formats import UnparseableDecision, UnsupportedFormat, parse_decision
from payers.formats.examples import EXAMPLES, canonical_body, pas_body, x12_body
from tests.support.payer_strategies import damaged_bytes, json_values, mutated_json

MEDIA_TYPES = ["application/json", "application/fhir+json", "application/edi-x12"]
APPROVE = EXAMPLES["approve"]
RENDERED = {
    "application/json": canonical_body(APPROVE),
    "application/fhir+json": pas_body(APPROVE),
    "application/edi-x12": x12_body(APPROVE),
}
FUZZ = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
SEGMENT_IDS = ["ISA", "GS", "ST", "BHT", "HL", "TRN", "UM", "HCR", "REF", "DTP", "HSD", "SV1"]


def only_format_errors(content_type: str, body: bytes) -> None:
    """Parse, accepting success or the two documented errors and nothing else."""
    try:
        parse_decision(content_type, body)
    except (UnparseableDecision, UnsupportedFormat) as exc:
        assert str(exc)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=utf-8", " application/json ;v=1"],
)
def test_json_media_type_ignores_case_and_parameters(content_type: str) -> None:
    assert parse_decision(content_type, RENDERED["application/json"]) == APPROVE


@pytest.mark.parametrize("content_type", ["application/edi-x12", "application/x12"])
def test_both_x12_media_types_reach_the_278_parser(content_type: str) -> None:
    assert parse_decision(content_type, RENDERED["application/edi-x12"]) == APPROVE


def test_fhir_media_type_reaches_the_pas_parser() -> None:
    assert parse_decision("application/fhir+json; fhirVersion=4.0", pas_body(APPROVE)) == APPROVE


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/xml", "json"])
def test_unknown_media_type_is_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedFormat, match="unsupported media type"):
        parse_decision(content_type, RENDERED["application/json"])


def test_a_body_in_another_format_is_unparseable_not_a_crash() -> None:
    with pytest.raises(UnparseableDecision, match="not valid JSON"):
        parse_decision("application/json", RENDERED["application/edi-x12"])


@FUZZ
@given(st.sampled_from(MEDIA_TYPES), st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_format_errors(content_type: str, body: bytes) -> None:
    only_format_errors(content_type, body)


@FUZZ
@given(st.sampled_from(MEDIA_TYPES[:2]), json_values)
def test_arbitrary_json_raises_only_format_errors(content_type: str, value: object) -> None:
    only_format_errors(content_type, json.dumps(value).encode())


@FUZZ
@given(st.data(), st.sampled_from(MEDIA_TYPES[:2]))
def test_valid_documents_with_one_node_replaced_raise_only_format_errors(
    data: st.DataObject, content_type: str
) -> None:
    document = json.loads(RENDERED[content_type])
    only_format_errors(content_type, data.draw(mutated_json(document)))


@FUZZ
@given(st.data(), st.sampled_from(MEDIA_TYPES))
def test_damaged_valid_bodies_raise_only_format_errors(
    data: st.DataObject, content_type: str
) -> None:
    only_format_errors(content_type, data.draw(damaged_bytes(RENDERED[content_type])))


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(SEGMENT_IDS), st.lists(st.text(max_size=12), max_size=6)),
        max_size=12,
    )
)
def test_segment_soup_raises_only_format_errors(segments: list[tuple[str, list[str]]]) -> None:
    text = "~".join("*".join([segment_id, *elements]) for segment_id, elements in segments)
    only_format_errors("application/edi-x12", text.encode("utf-8", "surrogatepass"))


ABSURD = {
    "start": {"start": date(2999, 1, 1), "end": date(3000, 1, 1)},
    "end": {"end": date(2999, 1, 1)},
    "decided_at": {"decided_at": datetime(1850, 1, 1, tzinfo=UTC)},
}
RENDER = {
    "application/json": canonical_body,
    "application/fhir+json": pas_body,
    "application/edi-x12": x12_body,
}


@pytest.mark.parametrize("content_type", MEDIA_TYPES)
@pytest.mark.parametrize("field", sorted(ABSURD))
def test_a_decision_dated_outside_1900_to_2100_is_unparseable_naming_the_field(
    content_type: str, field: str
) -> None:
    absurd = APPROVE.model_copy(update=ABSURD[field])

    with pytest.raises(UnparseableDecision, match="1900–2100"):
        parse_decision(content_type, RENDER[content_type](absurd))

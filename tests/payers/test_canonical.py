"""The canonical JSON format: realistic decisions, malformed bodies and the round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given

from domain.model import PayerDecision
from payers.formats import UnparseableDecision, parse_decision
from payers.formats.examples import EXAMPLES, canonical_body
from tests.support.payer_strategies import decisions

APPROVAL = {
    "trace_number": "SD-ep-2026-0001-1",
    "action": "A1",
    "authorization_number": "ACME-IOP-558201",
    "start": "2026-11-23",
    "end": "2026-12-20",
    "units": 20,
    "unit_type": "days",
    "service_codes": ["S9480", "0905"],
    "decided_at": "2026-11-20T09:05:00-05:00",
}


def parse(document: Any) -> PayerDecision:
    return parse_decision("application/json", json.dumps(document).encode())


def with_(**changes: Any) -> dict[str, Any]:
    return {**APPROVAL, **changes}


def test_approval_carries_number_dates_units_and_codes() -> None:
    decision = parse(APPROVAL)
    assert decision == EXAMPLES["approve"]
    assert decision.decided_at == datetime(2026, 11, 20, 14, 5, tzinfo=UTC)


def test_partial_approval_keeps_the_shorter_span_and_fewer_units() -> None:
    decision = parse(with_(action="A2", end="2026-12-11", units=12))
    assert (decision.action, decision.end, decision.units) == ("A2", date(2026, 12, 11), 12)


def test_denial_keeps_the_reason_code_and_text() -> None:
    body = {"trace_number": "SD-1", "action": "A3", "reason_code": "0F", "reason": "Not IOP."}
    decision = parse(body)
    assert (decision.reason_code, decision.reason, decision.units) == ("0F", "Not IOP.", None)


def test_pended_decision_keeps_the_payer_reference() -> None:
    decision = parse({"trace_number": "SD-1", "action": "A4", "reference": "PEND-42"})
    assert decision.reference == "PEND-42"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_decision_survives_rendering(name: str) -> None:
    example = EXAMPLES[name]
    assert parse_decision("application/json", canonical_body(example)) == example


@given(decisions())
def test_any_decision_round_trips_through_canonical_json(decision: PayerDecision) -> None:
    assert parse_decision("application/json", canonical_body(decision)) == decision


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        ({"action": "A1"}, r"field 'trace_number': Field required"),
        (with_(trace_number=""), r"field 'trace_number': String should have at least 1"),
        (with_(action="A9"), r"field 'action': Input should be 'A1', 'A2'"),
        (with_(action="a1"), r"field 'action'"),
        (with_(start="2026-13-01"), r"field 'start': Input should be a valid date"),
        (with_(start="23/11/2026"), r"field 'start'"),
        (with_(end="2026-11-01"), r"field 'end' 2026-11-01 is before field 'start' 2026-11-23"),
        (with_(units="20"), r"field 'units': Input should be a valid integer"),
        (with_(units=20.5), r"field 'units': Input should be a valid integer"),
        (with_(units=True), r"field 'units': Input should be a valid integer"),
        (with_(units=-1), r"field 'units': Input should be greater than or equal to 0"),
        (with_(unit_type="weeks"), r"field 'unit_type': Input should be 'days'"),
        (with_(service_codes="S9480"), r"field 'service_codes'"),
        (with_(service_codes=[9480]), r"field 'service_codes'\[0\]: Input should be a valid str"),
        (with_(decided_at="2026-11-20T09:05:00"), r"field 'decided_at' .* has no UTC offset"),
        (with_(decided_at=1700000000), r"field 'decided_at': Input should be a valid datetime"),
        (with_(authorisation_number="X"), r"unknown field\(s\) 'authorisation_number'"),
        ([APPROVAL], r"must be a JSON object .* not a JSON array"),
        ("A1", r"not a JSON string"),
    ],
)
def test_malformed_body_is_rejected_with_the_field_named(document: Any, detail: str) -> None:
    with pytest.raises(UnparseableDecision, match=detail):
        parse(document)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"trace_number": "SD-1", "action": "A1"', r"not valid JSON: .* line 1"),
        (b"", r"not valid JSON"),
        (b'{"trace_number": "\xff"}', r"not UTF-8 text"),
        (b"[" * 100_000, r"not usable JSON|not valid JSON"),
    ],
)
def test_body_that_is_not_json_is_rejected(body: bytes, detail: str) -> None:
    with pytest.raises(UnparseableDecision, match=detail):
        parse_decision("application/json", body)

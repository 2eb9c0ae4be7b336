"""X12 278 responses: realistic interchanges, malformed variants and the round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given

from domain.model import PayerDecision
from payers.formats import UnparseableDecision, parse_decision
from payers.formats.examples import EXAMPLES, x12_body
from tests.support.payer_strategies import X12_ALPHABET, decisions

FIXTURES = Path(__file__).parent / "fixtures"
PEND = (FIXTURES / "x12_pend.edi").read_text()
MINIMAL = "ST*278*1~BHT*0007*11*X*20261120*1405~TRN*2*SD-1~HCR*A1*AUTH-1~{extra}SE*5*1~"


def parse(text: str, content_type: str = "application/edi-x12") -> PayerDecision:
    return parse_decision(content_type, text.encode("utf-8"))


def minimal(extra: str = "") -> str:
    return MINIMAL.format(extra=extra)


def test_approval_reads_the_service_level_dates_quantity_and_codes() -> None:
    decision = parse((FIXTURES / "x12_approve.edi").read_text())
    assert (decision.trace_number, decision.action) == ("SD-ep-2026-0001-1", "A1")
    assert decision.authorization_number == "ACME-IOP-558201"
    assert (decision.start, decision.end) == (date(2026, 11, 23), date(2026, 12, 20))
    assert (decision.units, decision.unit_type) == (20, "days")
    assert decision.service_codes == ("0905", "S9480")
    assert decision.decided_at == datetime(2026, 11, 20, 14, 5, tzinfo=UTC)


def test_partial_approval_uses_the_delimiters_declared_in_isa() -> None:
    decision = parse((FIXTURES / "x12_partial.edi").read_text(), "application/x12")
    assert (decision.action, decision.units, decision.end) == ("A2", 12, date(2026, 12, 11))
    assert decision.service_codes == ("S9480",)


def test_denial_keeps_the_reason_code_and_message() -> None:
    assert parse((FIXTURES / "x12_deny.edi").read_text()) == EXAMPLES["deny"]


def test_pended_transaction_without_envelope_and_crlf_keeps_its_reference() -> None:
    assert parse(PEND) == EXAMPLES["pend"]


def test_echoed_trace_number_wins_over_the_payer_own_trace() -> None:
    text = minimal().replace("TRN*2*SD-1~", "TRN*1*PAYER-9*1ACME~TRN*2*SD-1~")
    assert parse(text).trace_number == "SD-1"


def test_event_date_is_used_when_there_is_no_service_date() -> None:
    decision = parse(minimal("DTP*AAH*D8*20261123~HSD*VS*12~"))
    assert (decision.start, decision.end) == (date(2026, 11, 23), None)
    assert (decision.units, decision.unit_type) == (12, "sessions")


def test_segments_split_by_newlines_alone_are_accepted() -> None:
    assert parse(minimal().replace("~", "\n")).authorization_number == "AUTH-1"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_decision_survives_rendering(name: str) -> None:
    example = EXAMPLES[name]
    assert parse_decision("application/edi-x12", x12_body(example)) == example


@given(decisions(alphabet=X12_ALPHABET))
def test_any_decision_round_trips_through_a_278_response(decision: PayerDecision) -> None:
    assert parse_decision("application/edi-x12", x12_body(decision)) == decision


def test_renderer_refuses_values_containing_delimiters() -> None:
    decision = EXAMPLES["deny"].model_copy(update={"reason": "ASAM 5~1"})
    with pytest.raises(ValueError, match=r"reason .* contains an X12 delimiter"):
        x12_body(decision)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (minimal().replace("TRN*2*SD-1~", ""), r"no TRN segment: .* trace number in TRN02"),
        (minimal().replace("TRN*2*SD-1~", "TRN*2~"), r"TRN02 \(the trace number .*\) is empty"),
        (minimal().replace("HCR*A1*AUTH-1~", ""), r"no HCR segment"),
        (minimal().replace("HCR*A1", "HCR*A9"), r"HCR01 'A9' is not a review action code"),
        (minimal().replace("HCR*A1*AUTH-1", "HCR"), r"HCR01 '' is not a review action code"),
        (minimal("HCR*A3~"), r"HCR segments disagree \('A1', 'A3'\)"),
        (minimal("DTP*472*RD8*20261123-20261340~"), r"DTP\*472 date '20261340' is not a valid"),
        (minimal("DTP*472*RD8*20261123~"), r"DTP\*472 range '20261123' is not CCYYMMDD-"),
        (minimal("DTP*472*D8*2026-11-23~"), r"DTP\*472 date '2026-11-23' is not a valid"),
        (minimal("DTP*472*DT*202611230900~"), r"DTP\*472 uses date format 'DT'; use D8"),
        (minimal("DTP*472*RD8*20261130-20261123~"), r"DTP03 \(end date\) 2026-11-23 is before"),
        (minimal("HSD*MN*3~"), r"HSD01 quantity qualifier 'MN' has no stepdown unit type"),
        (minimal("HSD*DY*2.5~"), r"HSD02 quantity '2.5' must be a whole number"),
        (minimal("HSD*DY*-3~"), r"HSD02 quantity '-3' must be a whole number"),
        (
            minimal().replace("*11*X*", "*13*X*"),
            r"BHT02 is '13'; a payer decision is a 278 response",
        ),
        (minimal().replace("*20261120*1405", "*20261120*2561"), r"BHT04/BHT05 .* not a CCYYMMDD"),
        (minimal().replace("ST*278", "ST*837"), r"ST01 is '837'; expected 278"),
        (minimal().replace("SE*5*1~", ""), r"truncated: ST has no closing SE segment"),
        (PEND[: PEND.index("REF*NT")], r"truncated: ST has no closing SE segment"),
        (minimal() + minimal(), r"carries 2 transactions; send one 278 response"),
        ("ISA*00*   *00", r"ISA segment is truncated"),
        ("ISA*00*1*00*1*ZZ*1*ZZ*1*1*1*^*00501*1*0*P*A~", r"ISA delimiters are unusable"),
        ("hello world", r"segment 1 \('hello world'\) does not start with a segment ID"),
        ("", r"holds no X12 segments"),
    ],
)
def test_malformed_278_is_rejected_naming_the_segment(text: str, detail: str) -> None:
    with pytest.raises(UnparseableDecision, match=detail):
        parse(text)

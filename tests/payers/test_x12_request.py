"""The 278 request (005010X217): the exact layout we write, and the X217 check that guards it.

pyx12 has no X217 map, so the layout is checked three ways: one request compared segment by
segment with the X217 loop structure written out by hand below; every generated variant run
through payers.formats.x217 (envelope counts and control numbers, HL hierarchy, segment order
and repeats per loop, required elements and code values); and that check shown to fail on
each kind of damage a broken generator could do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import read_delimiters, split_segments
from payers.formats.x12_request import (
    LevelOfCare,
    Party,
    Request278,
    Subscriber,
    build_278_request,
)
from payers.formats.x12_request_read import parse_278_request
from payers.formats.x12_write import Envelope, UnsendableValue, text
from payers.formats.x217 import check_278_request

AT = datetime(2026, 11, 23, 14, 5, 9, tzinfo=UTC)


def request(**overrides: Any) -> Request278:
    fields: dict[str, Any] = {
        "trace_number": "TRC-0001",
        "purpose": "initial",
        "payer": Party(name="Acme Medicaid", id="acme-medicaid"),
        "requester": Party(name="Stepdown IOP", id="1234567893"),
        "subscriber": Subscriber(
            last_name="Roe", first_name="Jane", member_id="MCD123456", birth_date=date(1990, 4, 1)
        ),
        "start": date(2026, 11, 23),
        "end": date(2026, 12, 12),
        "units": 20,
        "unit_type": "days",
        "service_codes": ("S9480", "90853", "0905"),
        "diagnoses": ("F10.20", "F32.1"),
        "level_of_care": LevelOfCare(
            asam_edition=3, from_level="2.5", to_level="2.1", dimensions={"1": 0, "2": 1}
        ),
        "facility_type": "76",
    }
    return Request278(**{**fields, **overrides})


def envelope(control_number: int = 42) -> Envelope:
    return Envelope("STEPDOWN", "CLEARINGHOUSE", control_number, AT, "HI", "005010X217")


def segments(body: bytes) -> list[list[str]]:
    text = body.decode("ascii")
    return split_segments(text, read_delimiters(text))


def test_an_initial_request_follows_the_x217_loops_segment_by_segment():
    found = [s for s in segments(build_278_request(request(), envelope()))]

    assert found == [
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "STEPDOWN       ", "ZZ",
         "CLEARINGHOUSE  ", "261123", "1405", "^", "00501", "000000042", "0", "P", ":"],
        ["GS", "HI", "STEPDOWN", "CLEARINGHOUSE", "20261123", "1405", "42", "X", "005010X217"],
        ["ST", "278", "0001", "005010X217"],
        ["BHT", "0007", "13", "TRC-0001", "20261123", "140509"],
        ["HL", "1", "", "20", "1"],  # 2000A UMO
        ["NM1", "X3", "2", "Acme Medicaid", "", "", "", "", "PI", "acme-medicaid"],
        ["HL", "2", "1", "21", "1"],  # 2000B requester
        ["NM1", "1P", "2", "Stepdown IOP", "", "", "", "", "XX", "1234567893"],
        ["HL", "3", "2", "22", "1"],  # 2000C subscriber (the patient)
        ["NM1", "IL", "1", "Roe", "Jane", "", "", "", "MI", "MCD123456"],
        ["DMG", "D8", "19900401"],
        ["HL", "4", "3", "EV", "1"],  # 2000E patient event
        ["TRN", "1", "TRC-0001", "9STEPDOWN0"],
        ["UM", "HS", "I", "AI", "76:A", "", "E"],
        ["DTP", "AAH", "RD8", "20261123-20261212"],
        ["HI", "ABK:F1020", "ABF:F321"],
        ["HSD", "DY", "20"],
        ["MSG", "ASAM 2.1 requested, stepping down from ASAM 2.5 (ASAM criteria edition 3). "
         "Dimension risk D1=0 D2=1"],
        ["HL", "5", "4", "SS", "0"],  # 2000F service: S9480 billed on 0905
        ["UM", "HS", "I"],
        ["DTP", "472", "RD8", "20261123-20261212"],
        ["SV2", "0905", "HC:S9480", "", "DA", "20"],
        ["HL", "6", "4", "SS", "0"],
        ["UM", "HS", "I"],
        ["DTP", "472", "RD8", "20261123-20261212"],
        ["SV2", "0905", "HC:90853", "", "DA", "20"],
        ["SE", "25", "0001"],
        ["GE", "1", "42"],
        ["IEA", "1", "000000042"],
    ]  # fmt: skip


VARIANTS = {
    "initial": {},
    "extension": {"purpose": "extension", "authorization_number": "AUTH-7"},
    "reversal": {"purpose": "reversal"},
    "sessions, professional codes only": {
        "unit_type": "sessions",
        "service_codes": ("H0015", "S9480"),
    },
    "revenue code only": {"service_codes": ("0906",), "unit_type": "units_15min"},
    "expedited, one diagnosis, no birth date": {
        "urgency": "expedited",
        "diagnoses": ("F11.20",),
        "subscriber": Subscriber(last_name="Doe", member_id="M-1"),
    },
    "twelve diagnoses": {"diagnoses": tuple(f"F10.{n}" for n in range(10, 24))},
}


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=list(VARIANTS))
def test_every_request_we_write_conforms_to_x217(overrides: dict[str, Any]):
    body = build_278_request(request(**overrides), envelope(987654321))

    assert check_278_request(body) == []


def test_an_extension_names_the_authorization_it_extends_and_certification_type_4():
    body = build_278_request(
        request(purpose="extension", authorization_number="AUTH-7"), envelope()
    )

    found = segments(body)
    assert ["REF", "BB", "AUTH-7"] in found
    assert next(s for s in found if s[0] == "UM")[:3] == ["UM", "HS", "4"]


def test_professional_codes_go_in_sv1_with_units():
    body = build_278_request(request(service_codes=("H0015",), unit_type="sessions"), envelope())

    assert ["SV1", "HC:H0015", "", "UN", "20"] in segments(body)
    assert ["HSD", "VS", "20"] in segments(body)


def test_the_clearinghouse_reads_back_what_the_request_asks_for():
    body = build_278_request(request(purpose="extension", authorization_number="A-9"), envelope(7))

    read = parse_278_request(body)

    assert (read.trace_number, read.payer_id, read.purpose) == (
        "TRC-0001",
        "acme-medicaid",
        "extension",
    )
    assert (read.interchange_control_number, read.group_control_number) == ("000000007", "7")
    assert (read.start, read.end, read.units, read.unit_type) == (
        date(2026, 11, 23), date(2026, 12, 12), 20, "days"
    )  # fmt: skip
    assert read.service_codes == ("0905", "S9480", "90853")
    assert read.authorization_number == "A-9"


def test_a_278_response_is_not_read_as_a_request():
    with pytest.raises(UnparseableDecision, match="BHT02"):
        parse_278_request(build_278_request(request(), envelope()).replace(b"*13*", b"*11*", 1))


@pytest.mark.parametrize(
    "field, value",
    [("trace_number", "TRC*1"), ("service_codes", ("H00~15",)), ("diagnoses", ("F10:20",))],
)
def test_data_holding_a_delimiter_is_refused_not_written(field: str, value: Any):
    with pytest.raises(UnsendableValue):
        build_278_request(request(**{field: value}), envelope())


def test_names_lose_delimiters_instead_of_splitting_the_segment():
    odd = Subscriber(last_name="O*Brien~", first_name="Ann:Marie", member_id="M1")

    body = build_278_request(request(subscriber=odd), envelope())

    assert ["NM1", "IL", "1", "O Brien", "Ann Marie", "", "", "", "MI", "M1"] in segments(body)
    assert check_278_request(body) == []


# --- the X217 check fails on each kind of damage --------------------------------------


def damaged(edit: Any) -> bytes:
    found = segments(build_278_request(request(), envelope()))
    edit(found)
    return "".join("*".join(s) + "~\n" for s in found).encode("ascii")


def replace_segment(position: int, new: list[str]) -> Any:
    def edit(found: list[list[str]]) -> None:
        found[position] = new

    return edit


def drop_segment(segment_id: str) -> Any:
    def edit(found: list[list[str]]) -> None:
        found.remove(next(s for s in found if s[0] == segment_id))

    return edit


def swap(first: str, second: str) -> Any:
    def edit(found: list[list[str]]) -> None:
        a = next(i for i, s in enumerate(found) if s[0] == first)
        b = next(i for i, s in enumerate(found) if s[0] == second)
        found[a], found[b] = found[b], found[a]

    return edit


DAMAGE = {
    "SE count off": (replace_segment(-3, ["SE", "23", "0001"]), "SE", "8"),
    "SE02 not ST02": (replace_segment(-3, ["SE", "25", "0002"]), "SE", "8"),
    "GE02 not GS06": (replace_segment(-2, ["GE", "1", "41"]), "GE", "3"),
    "IEA02 not ISA13": (replace_segment(-1, ["IEA", "1", "000000041"]), "IEA", "3"),
    "no UM in 2000E": (drop_segment("UM"), "UM", "3"),
    "no subscriber NM1": (replace_segment(9, ["DMG", "D8", "19900401"]), "NM1", "3"),
    "DTP before UM": (swap("UM", "DTP"), "UM", "2"),
    "HL parent wrong": (replace_segment(8, ["HL", "3", "1", "22", "1"]), "HL", "8"),
    "HL04 says no child": (replace_segment(11, ["HL", "4", "3", "EV", "0"]), "HL", "8"),
    "bad event date": (replace_segment(14, ["DTP", "AAH", "RD8", "20261323-20261212"]), "DTP", "8"),
    "bad certification type": (replace_segment(13, ["UM", "HS", "X"]), "UM", "8"),
    "principal diagnosis second": (replace_segment(15, ["HI", "ABF:F1020", "ABK:F321"]), "HI", "8"),
    "revenue code not 4 digits": (replace_segment(21, ["SV2", "905", "HC:S9480"]), "SV2", "8"),
    "subscriber not a person": (
        replace_segment(9, ["NM1", "IL", "2", "Roe", "", "", "", "", "MI", "M"]), "NM1", "8"
    ),
    "wrong transaction type": (
        replace_segment(2, ["ST", "270", "0001", "005010X279A1"]), "ST", "8"
    ),
}  # fmt: skip


@pytest.mark.parametrize("edit, segment_id, code", DAMAGE.values(), ids=list(DAMAGE))
def test_the_x217_check_reports_each_kind_of_damage(edit: Any, segment_id: str, code: str):
    problems = check_278_request(damaged(edit))

    assert (segment_id, code) in {(p.segment_id, p.code) for p in problems}, problems


def test_text_that_is_not_x12_is_one_problem_not_a_crash():
    problems = check_278_request(b"\xff\xfe not x12")

    assert [p.code for p in problems] == ["1"]


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
CODES = st.sampled_from(["S9480", "90853", "H0015", "G0410", "0905", "0906", "0914"])


@settings(max_examples=60, deadline=None)
@given(
    purpose=st.sampled_from(["initial", "extension", "reversal"]),
    unit_type=st.sampled_from(["days", "sessions", "units_15min", "hours"]),
    units=st.integers(1, 10_000),
    codes=st.lists(CODES, min_size=1, max_size=5, unique=True),
    diagnoses=st.lists(
        st.from_regex(r"F[0-9]{2}\.[0-9]{1,2}", fullmatch=True), min_size=1, max_size=14
    ),
    last=NAMES,
    first=NAMES,
    control=st.integers(1, 999_999_999),
)
def test_any_request_we_can_write_conforms_and_reads_back(
    purpose, unit_type, units, codes, diagnoses, last, first, control
):
    subscriber = Subscriber(last_name=last, first_name=first, member_id="M-1")
    wanted = request(purpose=purpose, unit_type=unit_type, units=units,
                     service_codes=tuple(codes), diagnoses=tuple(diagnoses),
                     subscriber=subscriber)  # fmt: skip
    try:
        body = build_278_request(wanted, envelope(control))
    except UnsendableValue:
        # Only a name with nothing X12 can carry is refused; every other value is written.
        assert not text(last, 60)
        return

    assert check_278_request(body) == []
    read = parse_278_request(body)
    assert (read.purpose, read.units, read.unit_type) == (purpose, units, unit_type)
    assert set(read.service_codes) == set(codes)
    assert int(read.interchange_control_number) == control

"""DOMAIN §6–§7 code tables: revenue codes, code kinds, time rule, TOB, statuses, NPI."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.codes import (
    GROUP_CODES,
    KNOWN_CODES,
    PATIENT_STATUS,
    REVENUE_CODES,
    TIMED_CODES,
    TYPE_OF_BILL_PREFIX,
    UNTIMED_CODES,
    npi_is_valid,
    pair_in_table,
    psychotherapy_code_for,
)
from domain.model import Setting


def test_occupational_therapy_range_043x_maps_every_digit_to_g0129():
    assert {code for code in REVENUE_CODES if code.startswith("043")} == {
        f"043{d}" for d in "0123456789"
    }
    assert all(REVENUE_CODES[f"043{d}"] == {"G0129"} for d in "0123456789")


def test_code_ranges_are_expanded_like_domain_writes_them():
    assert {"96130", "96131", "96132", "96133", "96136", "96139"} <= REVENUE_CODES["0918"]
    assert {"97153", "97154", "97155", "97156", "97157", "97158"} <= REVENUE_CODES["0900"]
    assert {"97550", "97551", "97552"} <= REVENUE_CODES["0942"]


def test_revenue_codes_without_hcpcs_or_with_undefined_codes_list_none():
    assert REVENUE_CODES["0250"] == frozenset()
    assert REVENUE_CODES["0906"] == frozenset()


def test_known_codes_are_the_table_plus_the_substance_use_codes():
    table = set().union(*REVENUE_CODES.values())
    assert table <= KNOWN_CODES
    assert {"H0015", "H2019", "S9480", "90791", "90792"} <= KNOWN_CODES


def test_every_known_code_is_either_timed_or_untimed():
    assert TIMED_CODES.isdisjoint(UNTIMED_CODES)
    assert TIMED_CODES | UNTIMED_CODES == KNOWN_CODES


@pytest.mark.parametrize(
    "code", ["90853", "G0410", "G0411", "H0015", "S9480", "90849", "G0129", "G0176", "G0177"]
)
def test_codes_without_time_in_their_definition_are_untimed(code):
    assert code in UNTIMED_CODES


@pytest.mark.parametrize(
    "code", ["90832", "90834", "90837", "H2019", "90839", "90840", "97153", "97158"]
)
def test_codes_with_time_in_their_definition_are_timed(code):
    assert code in TIMED_CODES


def test_group_codes_need_a_roster_and_are_known():
    assert {"90853", "G0410", "G0411", "90849"} <= GROUP_CODES
    assert GROUP_CODES <= KNOWN_CODES


@pytest.mark.parametrize(
    ("minutes", "code"),
    [(0, None), (15, None), (16, "90832"), (37, "90832"), (38, "90834"), (52, "90834"),
     (53, "90837"), (180, "90837")],
)  # fmt: skip
def test_psychotherapy_time_rule_picks_the_code_from_the_minutes(minutes, code):
    assert psychotherapy_code_for(minutes) == code


def test_type_of_bill_prefix_is_defined_for_every_setting():
    assert set(TYPE_OF_BILL_PREFIX) == set(get_args(Setting))
    assert TYPE_OF_BILL_PREFIX["hospital_outpatient"] == "013"
    assert TYPE_OF_BILL_PREFIX["cah"] == "085"
    assert TYPE_OF_BILL_PREFIX["cmhc"] == "076"
    assert TYPE_OF_BILL_PREFIX["rhc"] == "071"
    assert TYPE_OF_BILL_PREFIX["fqhc"] == "077"
    assert TYPE_OF_BILL_PREFIX["otp"] == TYPE_OF_BILL_PREFIX["freestanding"] == "089"


def test_patient_status_codes_are_those_of_domain_section_6():
    assert set(PATIENT_STATUS) == {
        "01", "02", "03", "04", "05", "06", "07", "09", "20", "21", "30", "41", "43", "50",
        "51", "61", "62", "63", "64", "65", "66",
    }  # fmt: skip


def test_pairs_listed_in_the_table_are_in_it():
    assert pair_in_table("0905", "G0129")
    assert pair_in_table("0915", "90853")
    assert pair_in_table("0250", "")


def test_pairs_not_listed_are_outside_the_table():
    assert not pair_in_table("0915", "90837")
    assert not pair_in_table("0250", "90853")
    assert not pair_in_table("0905", "")
    assert not pair_in_table("0999", "90853")


def test_any_code_pairs_with_0906_whose_codes_are_not_yet_defined():
    assert pair_in_table("0906", "H0015")


def test_npi_with_a_correct_luhn_check_digit_is_valid():
    assert npi_is_valid("1234567893")


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "12345678a3", ""])
def test_npi_with_a_wrong_check_digit_or_shape_is_invalid(npi):
    assert not npi_is_valid(npi)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_completes_any_nine_digits(base):
    assert sum(npi_is_valid(base + str(d)) for d in range(10)) == 1

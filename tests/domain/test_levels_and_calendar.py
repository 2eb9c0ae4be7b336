from datetime import date

import pytest

from domain.calendar import (
    add_business_days,
    federal_holidays,
    is_business_day,
    subtract_business_days,
)
from domain.levels import dimension_problems, is_valid_level, level_problems
from domain.policy import PLAN_TYPES, default_policy


def test_php_to_iop_is_a_valid_third_edition_step_down():
    assert level_problems(3, "2.5", "2.1") == []


@pytest.mark.parametrize("source", ["3.1", "3.3", "3.5", "3.7", "4", "3.7-WM"])
def test_residential_and_inpatient_step_down_to_iop_in_third_edition(source):
    assert level_problems(3, source, "2.1") == []


@pytest.mark.parametrize("source", ["2.5", "2.7", "3.1", "3.5", "3.7", "4.0"])
def test_fourth_edition_sources_step_down_to_iop(source):
    assert level_problems(4, source, "2.1") == []


def test_level_from_the_other_edition_is_rejected():
    problems = level_problems(3, "2.7", "2.1")
    assert problems == [
        "from_level '2.7' is not an ASAM edition 3 level "
        "(0.5, 1, 2.1, 2.5, 3.1, 3.3, 3.5, 3.7, 4, 1-WM, 2-WM, 3.2-WM, 3.7-WM, 4-WM)"
    ]


def test_withdrawal_management_suffix_exists_only_in_third_edition():
    assert is_valid_level("3.7-WM", 3)
    assert not is_valid_level("3.7-WM", 4)


@pytest.mark.parametrize("source", ["3.2-WM", "3.7-WM", "4-WM"])
def test_third_edition_withdrawal_management_above_iop_steps_down_to_iop(source):
    assert level_problems(3, source, "2.1") == []


@pytest.mark.parametrize("source", ["1-WM", "2-WM"])
def test_ambulatory_withdrawal_management_is_not_above_iop(source):
    assert "is not above 2.1" in level_problems(3, source, "2.1")[0]


@pytest.mark.parametrize("level", ["2.1-WM", "2.5-WM", "3.5-WM", "WM"])
def test_levels_asam_has_no_withdrawal_management_variant_of_are_invalid(level):
    assert not is_valid_level(level, 3)


def test_a_withdrawal_management_level_is_never_the_iop_to_level():
    problems = level_problems(3, "3.7-WM", "2.1-WM")
    assert problems and "to_level '2.1-WM'" in problems[0]


def test_step_up_is_not_a_step_down():
    problems = level_problems(3, "1", "2.1")
    assert any("is not above 2.1" in p for p in problems)


def test_step_down_must_land_on_iop():
    assert level_problems(3, "3.5", "2.5") == [
        "to_level must be 2.1 (IOP) for a step-down, got '2.5'"
    ]


def test_unknown_edition_is_one_problem():
    assert level_problems(5, "2.5", "2.1") == ["asam_edition must be 3 or 4, got 5"]


def test_dimension_ratings_out_of_range_and_missing_are_all_listed():
    problems = dimension_problems(3, {"1": 5, "2": -1, "3": 0, "4": 0, "5": 0, "7": 1})
    assert problems == [
        "dimension 6 is not rated",
        "dimension 1 risk must be 0..4, got 5",
        "dimension 2 risk must be 0..4, got -1",
        "dimension '7' does not exist in ASAM edition 3",
    ]


def test_fourth_edition_dimension_six_is_not_rated():
    ratings = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert dimension_problems(4, ratings) == []
    assert dimension_problems(4, {**ratings, "6": 1}) == [
        "dimension 6 is not rated in ASAM edition 4"
    ]


def test_dimension_problems_of_unknown_edition_are_left_to_the_level_check():
    assert dimension_problems(9, {}) == []


def test_federal_holidays_2026_are_observed_on_weekdays():
    days = federal_holidays(2026)
    assert date(2026, 7, 3) in days  # July 4 is a Saturday
    assert date(2026, 11, 26) in days  # Thanksgiving
    assert date(2026, 12, 25) in days
    assert date(2026, 5, 25) in days  # Memorial Day, last Monday of May
    assert len(days) == 11


def test_new_year_on_saturday_is_observed_on_the_last_day_of_the_year_before():
    assert date(2021, 12, 31) in federal_holidays(2021)


def test_business_days_skip_weekends_and_holidays():
    assert not is_business_day(date(2026, 11, 26))
    assert not is_business_day(date(2026, 11, 28))
    assert subtract_business_days(date(2026, 11, 30), 3) == date(2026, 11, 24)
    assert add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 27)


def test_every_plan_type_has_a_default_policy():
    assert {default_policy(p).plan_type for p in PLAN_TYPES} == set(PLAN_TYPES)


def test_medicaid_managed_care_treats_a_missed_deadline_as_a_denial():
    assert default_policy("medicaid_managed_care").missed_deadline_is_denial
    assert not default_policy("medicare_advantage").missed_deadline_is_denial


def test_commercial_standard_decisions_take_fifteen_days_and_cms_plans_seven():
    assert default_policy("commercial").decision_days_standard == 15
    assert default_policy("medicaid_ffs").decision_days_standard == 7
    assert default_policy("chip").decision_hours_expedited == 72

"""The bench's verdict per row: met or missed at the target's exact boundary, by its kind."""

from __future__ import annotations

import math

import pytest

from bench.report import Row


def row(value: float, baseline: float | None, kind: str | None, target: float | None) -> Row:
    return Row("2", "x", "memory", value, "/s", baseline, "b", kind, target)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "target", "status"),
    [
        (50, "at_least", 0.5, "met"),
        (49.9, "at_least", 0.5, "missed"),
        (300, "at_most", 3, "met"),
        (300.1, "at_most", 3, "missed"),
        (120, "flat", 0.2, "met"),
        (80, "flat", 0.2, "met"),
        (120.1, "flat", 0.2, "missed"),
        (79.9, "flat", 0.2, "missed"),
    ],
)
def test_a_target_is_met_up_to_its_boundary_and_missed_past_it(value, kind, target, status):
    assert row(value, 100, kind, target).status == status


def test_without_a_target_a_row_is_information_and_without_a_ratio_not_applicable():
    assert row(5, 100, None, None).status == "info"
    assert row(5, None, "at_least", 0.5).status == "n/a"
    assert row(math.nan, 100, "at_least", 0.5).status == "n/a"


def test_the_row_reports_its_ratio_target_and_status():
    out = row(150, 100, "at_most", 2).as_dict()
    assert (out["ratio"], out["target"], out["status"]) == (1.5, "≤ 2×", "met")
    assert row(1, 1, "flat", 0.2).target_text == "±20%"
    assert row(1, 1, "at_least", 0.5).target_text == "≥ 0.5×"

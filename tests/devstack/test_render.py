"""Due times read relative to now, as a person on the worklist wants them."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.render import relative

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_a_future_instant_reads_as_in_days_and_hours():
    assert relative("2026-11-25T17:00:00+00:00", NOW) == "in 2 d 3 h"


def test_a_past_instant_reads_as_ago():
    assert relative("2026-11-23T12:30:00+00:00", NOW) == "1 h 30 min ago"


def test_exact_adds_the_instant_and_missing_values_stay_empty():
    assert relative("2026-11-23T14:00:45+00:00", NOW, exact=True) == (
        "in 45 s (2026-11-23T14:00:45+00:00)"
    )
    assert relative(None, NOW) == ""
    assert relative("not a date", NOW) == "not a date"

"""Relative times on console pages: "in 3 h", "2 d overdue", days left on an authorization."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api.console.when import days_left, due_html, since, until

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=3, minutes=20), "in 3 h"),
        (timedelta(minutes=45), "in 45 min"),
        (timedelta(seconds=20), "due now"),
        (timedelta(hours=47), "in 47 h"),
        (timedelta(days=3, hours=5), "in 3 d"),
        (-timedelta(days=2, hours=1), "2 d overdue"),
        (-timedelta(minutes=5), "5 min overdue"),
    ],
)
def test_a_deadline_reads_relative_to_now(delta: timedelta, text: str) -> None:
    assert until(NOW + delta, NOW) == text


def test_an_event_reads_as_time_ago() -> None:
    assert since(NOW - timedelta(hours=5), NOW) == "5 h ago"
    assert since(NOW, NOW) == "just now"


def test_an_overdue_deadline_is_styled_as_overdue_and_keeps_the_exact_time() -> None:
    html = due_html(NOW - timedelta(days=2), NOW)

    assert 'class="overdue-text"' in html and "2 d overdue" in html
    assert 'title="2026-11-22T12:00+00:00"' in html
    assert 'class="soon-text"' in due_html(NOW + timedelta(hours=2), NOW)


@pytest.mark.parametrize(
    ("end", "text"),
    [
        (date(2026, 12, 4), "10 days left"),
        (date(2026, 11, 25), "1 day left"),
        (date(2026, 11, 24), "ends today"),
        (date(2026, 11, 21), "ended 3 days ago"),
    ],
)
def test_days_left_on_an_authorization(end: date, text: str) -> None:
    assert days_left(end, NOW.date()) == text

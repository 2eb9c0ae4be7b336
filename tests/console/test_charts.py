"""Bar charts drawn as SVG on the server: bars proportional, labels escaped, legend named."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from api.console.charts import bar_chart
from api.console.reports_page import reports_body
from domain.report import HeldReason, PayerReport, SummaryReport

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_bars_are_proportional_and_stacked() -> None:
    chart = bar_chart(
        "c", "Decisions", [("ok", "approved"), ("bad", "denied")],
        [("a", [3, 1], "25%"), ("b", [1, 1], "50%")],
    )  # fmt: skip

    first, second = chart.rows
    assert [s.width for s in first.segments] == [225.0, 75.0]  # the largest bar is 300 wide
    assert [s.x for s in first.segments] == [150.0, 375.0]
    assert [s.width for s in second.segments] == [75.0, 75.0]
    assert second.y == 26


def test_the_page_draws_every_chart_and_escapes_what_it_shows() -> None:
    payer = PayerReport(
        payer_id="<b>acme</b>",
        plan_type="commercial",
        approvals=2,
        denials=1,
        decision_hours_median=12.5,
        claims_held=1,
        held_by_reason={"no_authorization": HeldReason(claims=1, charges=Decimal("80.00"))},
    )
    report = SummaryReport(start=AT, end=AT, payers=[payer], total=payer)

    html = reports_body("2026-11-01", "2026-11-30", {}, report)

    assert html.count("<svg") == 3
    assert "<b>acme</b>" not in html and "&lt;b&gt;acme&lt;/b&gt;" in html
    assert "1 claim(s), $80.00" in html and "12.5 h" in html

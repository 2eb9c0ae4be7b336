"""The console's reports page: the summary report as charts (inline SVG) and a table."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from api.console.charts import Chart, bar_chart
from api.console.templates import render_template
from api.problems import ApiProblem
from api.reports import period
from domain.report import SummaryReport

DEFAULT_DAYS = 30
DECISIONS = [("ok", "approved"), ("warn", "partly approved"), ("bad", "denied")]


def parse_period(
    raw_from: str | None, raw_to: str | None, today: date
) -> tuple[str, str, dict[str, str], tuple[datetime, datetime] | None]:
    """The period as typed (to refill the form), problems by field, and the instants."""
    start = raw_from or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    end = raw_to or today.isoformat()
    errors, days = {}, {}
    for field, value in (("from", start), ("to", end)):
        try:
            days[field] = date.fromisoformat(value)
        except ValueError:
            errors[field] = "Enter a date as year-month-day, for example 2026-11-30."
    if errors:
        return start, end, errors, None
    try:
        return start, end, {}, period(days["from"], days["to"])
    except ApiProblem as problem:
        return start, end, {"to": problem.detail[:1].upper() + problem.detail[1:] + "."}, None


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def charts(report: SummaryReport) -> dict[str, Chart]:
    payers = report.payers
    decisions = bar_chart(
        "chart-decisions",
        "Decisions by payer",
        DECISIONS,
        [
            (p.payer_id, [p.approvals, p.partial_approvals, p.denials], _percent(p.denial_rate))
            for p in payers
            if p.approvals + p.partial_approvals + p.denials
        ],
    )
    hours = bar_chart(
        "chart-hours",
        "Median hours from request to decision",
        [("accent", "median hours")],
        [
            (p.payer_id, [p.decision_hours_median], _hours(p.decision_hours_median))
            for p in payers
            if p.decision_hours_median is not None
        ],
    )
    reasons: dict[str, tuple[int, float]] = {}
    for p in payers:
        for code, held in p.held_by_reason.items():
            claims, charges = reasons.get(code, (0, 0.0))
            reasons[code] = (claims + held.claims, charges + float(held.charges))
    held = bar_chart(
        "chart-held",
        "Claims held, by reason (charges)",
        [("bad", "charges held")],
        [
            (code.replace("_", " "), [charges], f"{claims} claim(s), ${charges:,.2f}")
            for code, (claims, charges) in sorted(reasons.items())
        ],
    )
    return {"decisions": decisions, "hours": hours, "held": held}


def reports_body(start: str, end: str, errors: dict[str, str], report: SummaryReport | None) -> str:
    rows = [*report.payers, report.total] if report else []
    return render_template(
        "reports.html",
        start=start,
        end=end,
        errors=errors,
        report=report,
        rows=rows,
        percent=_percent,
        show_hours=_hours,
        **(charts(report) if report else {}),
    )

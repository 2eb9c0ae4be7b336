"""The summary report over HTTP: the period from query dates, and the report as CSV rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

from api.problems import ApiProblem, ProblemItem
from domain.report import PayerReport, SummaryReport

MAX_DAYS = 366
COLUMNS = (
    "payer_id",
    "plan_type",
    "requests",
    "approvals",
    "partial_approvals",
    "denials",
    "denial_rate",
    "p2p_decided",
    "p2p_overturned",
    "p2p_overturn_rate",
    "appeals_decided",
    "appeals_overturned",
    "appeal_overturn_rate",
    "decision_hours_median",
    "decision_hours_p90",
    "deadlines_missed",
    "units_approved",
    "units_used",
    "claims_released",
    "released_charges",
    "claims_held",
    "held_charges",
)


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after `end` 00:00 UTC): both days included."""
    if end < start:
        raise _bad("to", f"`to` ({end}) is before `from` ({start}); swap them")
    if (end - start).days + 1 > MAX_DAYS:
        raise _bad("to", f"a report covers at most {MAX_DAYS} days; shorten the period")
    if end >= date.max:
        raise _bad("to", f"`to` must be before {date.max}")
    first = datetime.combine(start, time.min, tzinfo=UTC)
    return first, datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)


def _bad(parameter: str, detail: str) -> ApiProblem:
    return ApiProblem(
        422, "invalid_input", detail, errors=[ProblemItem(detail=detail, parameter=parameter)]
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def as_csv(report: SummaryReport) -> str:
    """One row per payer and a total; one pair of columns per hold reason seen."""
    reasons = sorted({code for p in report.payers for code in p.held_by_reason})
    header = [
        *COLUMNS,
        *(f"held_{code}_{what}" for code in reasons for what in ("claims", "charges")),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in [*report.payers, report.total]:
        writer.writerow([*(_cell(getattr(row, c)) for c in COLUMNS), *_held(row, reasons)])
    return out.getvalue()


def _held(row: PayerReport, reasons: list[str]) -> list[str]:
    cells = []
    for code in reasons:
        held = row.held_by_reason.get(code)
        cells += [_cell(held.claims), _cell(held.charges)] if held else ["0", "0"]
    return cells

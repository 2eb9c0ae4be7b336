"""Reports: the summary per payer and plan type (ops, admin), as JSON or CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.auth import OpsUser
from api.deps import ReadModelDep, blocking
from api.problems import problem_responses
from api.reports import as_csv, period
from domain.report import REPORT_EVENTS, SummaryReport, summary_report

router = APIRouter(tags=["reports"])
CSV = "text/csv"


@router.get(
    "/reports/summary",
    name="reports.summary",
    response_model=SummaryReport,
    summary="Requests, decisions, overturns, turnaround, missed deadlines and claims (ops)",
    description=(
        "Per payer and plan type, for the days `from` to `to` (both included, UTC): requests "
        "sent, approvals, partial approvals (A2, A6 or fewer units than asked), denials and "
        "the denial rate, P2P and appeal overturn rates, median and p90 hours from request "
        "to decision, payer deadlines missed, units approved and billed, claims released "
        "and claims still held by reason with their charges. `Accept: text/csv` for CSV."
    ),
    responses=problem_responses(401, 403, 422, 503)
    | {200: {"content": {CSV: {}}, "description": "The report"}},
)
async def summary(
    request: Request,
    user: OpsUser,
    read_model: ReadModelDep,
    start: Annotated[date, Query(alias="from", description="first day, e.g. 2026-11-01")],
    end: Annotated[date, Query(alias="to", description="last day, e.g. 2026-11-30")],
) -> SummaryReport | Response:
    first, after = period(start, end)
    rows = await blocking(read_model.payer_events, first, after, REPORT_EVENTS)
    report = summary_report(rows, first, after)
    if CSV in request.headers.get("accept", ""):
        name = f"stepdown-summary-{start}-{end}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(as_csv(report), media_type=f"{CSV}; charset=utf-8", headers=headers)
    return report

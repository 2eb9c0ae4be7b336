"""Schedule and attendance routes (issue 12): the program schedule (intake, ops) and the
attendance of each session (billing), which derives the services of attended sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import IntakeOrOpsUser, User, allow
from api.deps import Workflows
from api.problems import problem_responses
from api.routes.episodes import EpisodeId
from domain import commands as c
from domain.attendance import AttendanceEntry, ProgramSchedule
from domain.views import EpisodeView
from workflows.episode import EpisodeWorkflow
from workflows.models import AttendanceResult

router = APIRouter(tags=["attendance"])
# Billing records attendance with the services it derives; ops (the console) records it too.
BillingOrOpsUser = Annotated[User, Depends(allow("billing", "ops"))]


class AttendanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[AttendanceEntry] = Field(min_length=1, max_length=500)


class AttendanceResponse(BaseModel):
    recorded: list[str]
    duplicates: list[str]
    services: list[str] = Field(description="services derived from attended, billed sessions")
    episode: EpisodeView


@router.put(
    "/episodes/{episode_id}/schedule",
    name="episode.schedule",
    summary="Set the program schedule, e.g. 3 days a week, 3 hours a day (intake, ops)",
    description="The same schedule again changes nothing. 409 once the episode is closed.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def set_schedule(
    episode_id: EpisodeId, body: ProgramSchedule, user: IntakeOrOpsUser, workflows: Workflows
) -> EpisodeView:
    command = c.SetSchedule(schedule=body)
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.set_schedule, command)
    return view


@router.post(
    "/episodes/{episode_id}/attendance",
    name="episode.attendance",
    summary="Record the attendance of sessions; attended sessions with `bill` become services "
    "(billing, ops)",
    description=(
        "Each session: attended (with minutes), no_show, late_cancel or excused. A no-show or "
        "late cancel is never billed. An attended session with `bill` derives its service "
        "(service_id = session_id) in the same step. All or nothing: 422 lists every problem "
        "and records nothing; the same session again is a duplicate."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_attendance(
    episode_id: EpisodeId,
    body: AttendanceRequest,
    user: BillingOrOpsUser,
    workflows: Workflows,
    request: Request,
) -> AttendanceResponse:
    command = c.RecordAttendance(sessions=tuple(body.sessions))
    update = EpisodeWorkflow.record_attendance
    result: AttendanceResult = await workflows.act(episode_id, update, command)
    request.state.outcome = "recorded" if result.recorded else "duplicate"
    return AttendanceResponse(
        recorded=result.recorded,
        duplicates=result.duplicates,
        services=result.services,
        episode=await workflows.view(episode_id),
    )

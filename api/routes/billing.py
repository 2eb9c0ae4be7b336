"""Billing routes: record attended services and ask for claims (billing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.auth import BillingUser
from api.deps import MetricsDep, Workflows
from api.problems import ApiProblem, ProblemItem, problem_responses
from api.routes.episodes import EpisodeId
from api.schemas import (
    ClaimRequest,
    CorrectServiceRequest,
    HeldClaim,
    ReleasedClaim,
    ServicesRequest,
    ServicesResponse,
    VoidServiceRequest,
)
from domain import commands as c
from domain.views import EpisodeView
from workflows.episode import EpisodeWorkflow
from workflows.models import ClaimResult, ServicesResult

router = APIRouter(tags=["billing"])


@router.post(
    "/episodes/{episode_id}/services",
    name="episode.services",
    summary="Record attended services, idempotent on service_id (billing)",
    description=(
        "200 when at least one line is recorded now or was recorded before: `accepted`, "
        "`duplicates`, `rejected` (each with a code and a reason) and `warnings` (a revenue "
        "code / HCPCS pair outside the table: recorded, Medicare does not edit it). "
        "422 when every line is rejected: nothing was recorded, and `errors` gives each "
        "line's reason with a pointer to it. No 207: one status tells whether anything changed."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_services(
    episode_id: EpisodeId,
    body: ServicesRequest,
    user: BillingUser,
    workflows: Workflows,
    request: Request,
) -> ServicesResponse:
    update = EpisodeWorkflow.record_services
    result: ServicesResult = await workflows.act(episode_id, update, body.command())
    if not result.accepted and not result.duplicates:
        raise every_line_rejected(body, result)
    request.state.outcome = "recorded" if not result.rejected else "partly_recorded"
    return ServicesResponse(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=result.rejected,
        warnings=result.warnings,
        episode=await workflows.view(episode_id),
    )


def every_line_rejected(body: ServicesRequest, result: ServicesResult) -> ApiProblem:
    index = {service.service_id: n for n, service in enumerate(body.services)}
    items = [
        ProblemItem(
            detail=f"{line.service_id}: {line.detail}",
            pointer=f"#/services/{index.get(line.service_id, 0)}",
        )
        for line in result.rejected
    ]
    detail = "no service was recorded: " + "; ".join(item.detail for item in items)
    return ApiProblem(422, "invalid_input", detail, errors=items)


@router.post(
    "/episodes/{episode_id}/claims",
    status_code=201,
    name="episode.claim",
    summary="Release the claim for the unbilled services up to `through` (billing)",
    description=(
        "201 released with the claim; 202 held with the reasons (kept, and released by "
        "itself once coverage arrives); the same claim_id again gives the same answer and "
        "never a second claim. 409 when nothing is billable up to `through`."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503)
    | {202: {"model": HeldClaim, "description": "Held, with the reasons"}},
)
async def release_claim(
    episode_id: EpisodeId,
    body: ClaimRequest,
    user: BillingUser,
    metrics: MetricsDep,
    workflows: Workflows,
    request: Request,
    response: Response,
) -> ReleasedClaim | HeldClaim:
    update_id = f"claim-{body.claim_id}"
    update = EpisodeWorkflow.release_claim
    result: ClaimResult = await workflows.act(
        episode_id, update, body.command(), update_id=update_id
    )
    metrics.inc("stepdown_claims_total", status=result.status)
    request.state.outcome = result.status
    if result.status == "released" and result.claim is not None:
        return ReleasedClaim(claim_id=result.claim_id, claim=result.claim, dropped=result.dropped)
    response.status_code = 202
    return HeldClaim(claim_id=result.claim_id, reasons=result.reasons, dropped=result.dropped)


ServiceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", max_length=64)]


@router.post(
    "/episodes/{episode_id}/services/{service_id}/void",
    name="episode.service_void",
    summary="Void a recorded service that is not on a released claim (billing)",
    description=(
        "The service stays in the history (a `service_voided` event) and never bills; its id "
        "stays taken. A held claim holding it is gated again, so a hold that service caused "
        "clears. Voiding a voided service again changes nothing. 404 unknown service; 409 "
        "when it is on a released claim."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def void_service(
    episode_id: EpisodeId,
    service_id: ServiceId,
    body: VoidServiceRequest,
    user: BillingUser,
    workflows: Workflows,
    request: Request,
) -> EpisodeView:
    command = c.VoidService(service_id=service_id, reason=body.reason)
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.void_service, command)
    request.state.outcome = "voided"
    return view


@router.post(
    "/episodes/{episode_id}/services/{service_id}/correct",
    name="episode.service_correct",
    summary="Correct a recorded service that is not on a released claim (billing)",
    description=(
        "The body's service replaces the recorded one (a `service_corrected` event); it passes "
        "the same checks as a new line. A held claim holding it is gated again. The same "
        "correction twice changes nothing. 422 when the body's service_id differs from the "
        "path or the line is invalid; 404 unknown service; 409 when on a released claim."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def correct_service(
    episode_id: EpisodeId,
    service_id: ServiceId,
    body: CorrectServiceRequest,
    user: BillingUser,
    workflows: Workflows,
    request: Request,
) -> EpisodeView:
    if body.service.service_id != service_id:
        item = ProblemItem(
            detail=f"service.service_id {body.service.service_id!r} is not {service_id!r}",
            pointer="#/service/service_id",
        )
        raise ApiProblem(422, "invalid_input", item.detail, errors=[item])
    command = c.CorrectService(service=body.service, reason=body.reason)
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.correct_service, command)
    request.state.outcome = "corrected"
    return view

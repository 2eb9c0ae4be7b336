"""Episode actions of people: P2P and appeals (ops), discharge, cancel and information."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import IntakeOrOpsUser, OpsUser
from api.deps import Workflows
from api.problems import problem_responses
from api.routes.episodes import EpisodeId
from api.schemas import (
    CancelRequest,
    DischargeRequest,
    ExtensionNoticeRequest,
    InformationRequest,
)
from domain.views import EpisodeView
from workflows.episode import EpisodeWorkflow
from workflows.models import AppealAction, P2PAction

router = APIRouter(tags=["actions"])

ACTION_ERRORS = problem_responses(401, 403, 404, 409, 422, 503)
STATE_NOTE = "409 when the episode's state does not allow it: the problem names the state."


@router.post(
    "/episodes/{episode_id}/p2p",
    name="episode.p2p",
    summary="Request, schedule or record a peer-to-peer review (ops)",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def p2p(
    episode_id: EpisodeId, body: P2PAction, user: OpsUser, workflows: Workflows
) -> EpisodeView:
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.p2p, body)
    return view


@router.post(
    "/episodes/{episode_id}/appeal",
    name="episode.appeal",
    summary="File an appeal or record its outcome (ops)",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def appeal(
    episode_id: EpisodeId, body: AppealAction, user: OpsUser, workflows: Workflows
) -> EpisodeView:
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.appeal, body)
    return view


@router.post(
    "/episodes/{episode_id}/discharge",
    name="episode.discharge",
    summary="Discharge the patient from IOP (intake, ops)",
    description=STATE_NOTE + " 422 for a future date or services after it.",
    responses=ACTION_ERRORS,
)
async def discharge(
    episode_id: EpisodeId, body: DischargeRequest, user: IntakeOrOpsUser, workflows: Workflows
) -> EpisodeView:
    command = body.command()
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.discharge, command)
    return view


@router.post(
    "/episodes/{episode_id}/cancel",
    name="episode.cancel",
    summary="Cancel the episode (intake, ops); not once a claim was released",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def cancel(
    episode_id: EpisodeId, body: CancelRequest, user: IntakeOrOpsUser, workflows: Workflows
) -> EpisodeView:
    view: EpisodeView = await workflows.act(episode_id, EpisodeWorkflow.cancel, body.command())
    return view


@router.post(
    "/episodes/{episode_id}/information",
    name="episode.information",
    summary="Record the information sent to a payer that pended the request (intake, ops)",
    description=(
        "The answer to a payer's A4 (pended, information requested): restarts the payer's "
        "decision clock. " + STATE_NOTE
    ),
    responses=ACTION_ERRORS,
)
async def provide_information(
    episode_id: EpisodeId, body: InformationRequest, user: IntakeOrOpsUser, workflows: Workflows
) -> EpisodeView:
    command = body.command()
    update = EpisodeWorkflow.provide_information
    view: EpisodeView = await workflows.act(episode_id, update, command)
    return view


@router.post(
    "/episodes/{episode_id}/decision-extension",
    name="episode.decision_extension",
    summary="Record the payer's notice extending its decision or appeal window (ops)",
    description=(
        "Moves the deadline by `days` (default: the most the payer's policy allows — Medicare "
        "Advantage 14, ERISA 15; appeals 14 under Medicaid managed care and ERISA), once, "
        "counted from the current deadline; not a denial. 422 beyond the policy; 409 after "
        "the deadline passed, a second extension, or nothing waiting. " + STATE_NOTE
    ),
    responses=ACTION_ERRORS,
)
async def decision_extension(
    episode_id: EpisodeId, body: ExtensionNoticeRequest, user: OpsUser, workflows: Workflows
) -> EpisodeView:
    update = EpisodeWorkflow.extend_decision
    view: EpisodeView = await workflows.act(episode_id, update, body.command())
    return view

"""Episode actions of people: P2P and appeals (ops), discharge, cancel and information.

Every action takes an optional `Idempotency-Key` header. It becomes the Temporal update id, so
a client that retries after a timeout with the same key gets the first answer instead of a
409 (the action already happened). Keys are remembered for the episode's current workflow run
(continue-as-new starts a new memory); without a key every call is a new action.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import AfterValidator

from api.auth import IntakeOrOpsUser, OpsUser
from api.bounds import checked
from api.deps import ApiDeps, Deps, Workflows, blocking
from api.problems import ApiProblem, ProblemItem, problem_responses
from api.routes.episodes import EpisodeId
from api.schemas import (
    CancelRequest,
    DischargeRequest,
    ExtensionNoticeRequest,
    InformationRequest,
    RetryRequest,
)
from domain.views import EpisodeView
from store.notes import NotesUnavailable
from workflows.episode import EpisodeWorkflow
from workflows.models import AppealAction, P2PAction, RetryResult

router = APIRouter(tags=["actions"])

P2PBody = Annotated[P2PAction, AfterValidator(checked)]
ACTION_ERRORS = problem_responses(401, 403, 404, 409, 422, 503)
STATE_NOTE = (
    "409 when the episode's state does not allow it: the problem names the state. "
    "Send an `Idempotency-Key` header to make a retry of the same call answer once."
)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Client-chosen key; a repeat of the call with it returns the first answer.",
    ),
]


async def check_attachments(deps: ApiDeps, episode_id: str, ids: tuple[int, ...]) -> None:
    """Every id is an attachment of this episode, named once; else 422 and nothing is sent."""
    if not ids:
        return
    problems = []
    if len(set(ids)) != len(ids):
        problems.append(ProblemItem(detail="an attachment is named twice", pointer="#/attachments"))
    known = set()
    if deps.attachments is not None:
        try:
            known = {a.id for a in await blocking(deps.attachments.attachments, episode_id)}
        except NotesUnavailable as err:
            raise ApiProblem(503, "unavailable", str(err)) from None
    for n, attachment_id in enumerate(ids):
        if attachment_id not in known:
            detail = f"episode {episode_id} has no attachment {attachment_id}"
            problems.append(ProblemItem(detail=detail, pointer=f"#/attachments/{n}"))
    if problems:
        detail = "; ".join(p.detail for p in problems)
        raise ApiProblem(422, "invalid_input", detail, errors=problems)


def update_id(action: str, key: str | None) -> str | None:
    """The update id for `action` under the client's key; None lets Temporal pick one."""
    return f"{action}:{key}" if key else None


@router.post(
    "/episodes/{episode_id}/p2p",
    name="episode.p2p",
    summary="Request, schedule or record a peer-to-peer review (ops)",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def p2p(
    episode_id: EpisodeId,
    body: P2PBody,
    user: OpsUser,
    workflows: Workflows,
    deps: Deps,
    key: IdempotencyKey = None,
) -> EpisodeView:
    await check_attachments(deps, episode_id, body.attachments)
    view: EpisodeView = await workflows.act(
        episode_id, EpisodeWorkflow.p2p, body, update_id=update_id("p2p", key)
    )
    return view


@router.post(
    "/episodes/{episode_id}/appeal",
    name="episode.appeal",
    summary="File an appeal or record its outcome (ops)",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def appeal(
    episode_id: EpisodeId,
    body: AppealAction,
    user: OpsUser,
    workflows: Workflows,
    deps: Deps,
    key: IdempotencyKey = None,
) -> EpisodeView:
    await check_attachments(deps, episode_id, body.attachments)
    view: EpisodeView = await workflows.act(
        episode_id, EpisodeWorkflow.appeal, body, update_id=update_id("appeal", key)
    )
    return view


@router.post(
    "/episodes/{episode_id}/discharge",
    name="episode.discharge",
    summary="Discharge the patient from IOP (intake, ops)",
    description=STATE_NOTE + " 422 for a future date or services after it.",
    responses=ACTION_ERRORS,
)
async def discharge(
    episode_id: EpisodeId,
    body: DischargeRequest,
    user: IntakeOrOpsUser,
    workflows: Workflows,
    key: IdempotencyKey = None,
) -> EpisodeView:
    command = body.command()
    view: EpisodeView = await workflows.act(
        episode_id, EpisodeWorkflow.discharge, command, update_id=update_id("discharge", key)
    )
    return view


@router.post(
    "/episodes/{episode_id}/cancel",
    name="episode.cancel",
    summary="Cancel the episode (intake, ops); not once a claim was released",
    description=STATE_NOTE,
    responses=ACTION_ERRORS,
)
async def cancel(
    episode_id: EpisodeId,
    body: CancelRequest,
    user: IntakeOrOpsUser,
    workflows: Workflows,
    key: IdempotencyKey = None,
) -> EpisodeView:
    view: EpisodeView = await workflows.act(
        episode_id, EpisodeWorkflow.cancel, body.command(), update_id=update_id("cancel", key)
    )
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
    episode_id: EpisodeId,
    body: InformationRequest,
    user: IntakeOrOpsUser,
    workflows: Workflows,
    deps: Deps,
    key: IdempotencyKey = None,
) -> EpisodeView:
    await check_attachments(deps, episode_id, body.attachments)
    command = body.command()
    update = EpisodeWorkflow.provide_information
    view: EpisodeView = await workflows.act(
        episode_id, update, command, update_id=update_id("information", key)
    )
    return view


@router.post(
    "/episodes/{episode_id}/failures/retry",
    name="episode.retry_failures",
    summary="Carry out again an effect that failed: a payer submission, a claim delivery (ops)",
    description=(
        "Retries the failed effect named by `failure_id` (shown on its worklist item), or every "
        "open one when the body is empty. A resent payer request starts the payer's decision "
        "clock again. 409 when nothing failed. " + STATE_NOTE
    ),
    responses=ACTION_ERRORS,
)
async def retry_failures(
    episode_id: EpisodeId,
    user: OpsUser,
    workflows: Workflows,
    body: RetryRequest | None = None,
    key: IdempotencyKey = None,
) -> RetryResult:
    command = (body or RetryRequest()).command(by=user.role)
    update = EpisodeWorkflow.retry_failed_effects
    result: RetryResult = await workflows.act(
        episode_id, update, command, update_id=update_id("retry", key)
    )
    return result


@router.post(
    "/episodes/{episode_id}/decision-extension",
    name="episode.decision_extension",
    summary="Record the payer's notice extending its decision or appeal window (ops)",
    description=(
        "Moves the deadline by `days` (default: the most the payer's policy allows — Medicare "
        "Advantage 14, ERISA 15; appeals 14 under Medicaid managed care and ERISA), once, "
        "counted from the current deadline; not a denial. 422 beyond the policy; 409 after "
        "the deadline passed, a second extension, or nothing waiting. A payer that answers "
        "over the webhook sends the notice itself: a pended answer (A4) with `extension_days`; "
        "this route is for a notice that came another way (letter, phone). " + STATE_NOTE
    ),
    responses=ACTION_ERRORS,
)
async def decision_extension(
    episode_id: EpisodeId, body: ExtensionNoticeRequest, user: OpsUser, workflows: Workflows
) -> EpisodeView:
    update = EpisodeWorkflow.extend_decision
    view: EpisodeView = await workflows.act(episode_id, update, body.command())
    return view

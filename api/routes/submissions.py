"""Every outbound payer submission of an episode, with the exact payload and the answer (ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import OpsUser
from api.deps import Deps, blocking
from api.problems import ApiProblem, problem_responses
from domain.commands import EPISODE_ID_PATTERN
from store.submissions import Submission

router = APIRouter(tags=["episodes"])

EpisodeId = Annotated[str, Path(pattern=EPISODE_ID_PATTERN, examples=["ep-2026-0001"])]


@router.get(
    "/episodes/{episode_id}/submissions",
    name="episode.submissions",
    summary="Outbound payer submissions, oldest first (ops)",
    description=(
        "Each request sent to the payer (or, for a webhook-only payer, recorded as awaiting "
        "its webhook): purpose, channel, status (sending, answered, accepted, "
        "awaiting_webhook, failed), timestamps, the exact payload sent (the PAS Bundle JSON) "
        "and the payer's synchronous answer."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_submissions(episode_id: EpisodeId, user: OpsUser, deps: Deps) -> list[Submission]:
    found = await blocking(deps.submission_log().for_episode, episode_id)
    if not found and await blocking(deps.read_model.summary, episode_id) is None:
        raise ApiProblem(404, "not_found", f"no episode {episode_id} in the read model")
    return found

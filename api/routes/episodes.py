"""Episode routes: open (intake), read the view, list, events and Temporal history (ops)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api import opening
from api.auth import IntakeOrOpsUser, IntakeUser, OpsUser, ReaderUser
from api.bounds import OUT_OF_RANGE, in_range
from api.deps import Deps, ReadModelDep, Workflows, blocking
from api.payer_check import payer_problems
from api.problems import ApiProblem, ProblemItem, problem_responses
from api.schemas import EpisodePage, IntakeRequest
from domain.commands import EPISODE_ID_PATTERN
from domain.model import EpisodeStateName
from domain.views import EpisodeSummary, EpisodeView, StoredEvent
from workflows.history import HistoryEntry

router = APIRouter(tags=["episodes"])

EpisodeId = Annotated[str, Path(pattern=EPISODE_ID_PATTERN, examples=["ep-2026-0001"])]
READ_ERRORS = problem_responses(401, 403, 404, 422, 503)


@router.post(
    "/episodes",
    status_code=201,
    name="episode.open",
    summary="Open an episode (intake)",
    description=(
        "201 with the view when opened; 200 with the current view when this episode_id was "
        "opened with the same body; 409 when it was opened with another body; 422 listing "
        "every problem (levels for the edition, step-down, ratings, codes, dates; a payer "
        "that is not in the payer directory, or registered with another plan type)."
    ),
    responses=problem_responses(401, 403, 409, 422, 503)
    | {200: {"model": EpisodeView, "description": "Already open with the same body"}},
)
async def open_episode(
    body: IntakeRequest,
    user: IntakeUser,
    deps: Deps,
    workflows: Workflows,
    request: Request,
    response: Response,
) -> EpisodeView:
    request.state.episode_id = body.episode_id
    problems = await payer_problems(deps, body.payer)
    if problems:
        items = [
            ProblemItem(detail=text, pointer="#/" + f.replace(".", "/")) for f, text in problems
        ]
        raise ApiProblem(422, "unknown_payer", "; ".join(i.detail for i in items), errors=items)
    view, created = await opening.open_episode(
        deps,
        workflows,
        body.command(),
        user=user,
        action="episode.open",
        request_id=request.state.request_id,
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/episodes/{view.episode_id}"
    request.state.outcome = "created" if created else "unchanged"
    return view


@router.get(
    "/episodes/{episode_id}",
    name="episode.view",
    summary="The episode view (intake, billing, ops)",
    responses=READ_ERRORS,
)
async def get_episode(episode_id: EpisodeId, user: ReaderUser, workflows: Workflows) -> EpisodeView:
    return await workflows.view(episode_id)


@router.get(
    "/episodes",
    name="episode.list",
    summary="Episode summaries from the read model, newest first; search with `q` (intake, ops)",
    description=(
        "`q` finds episodes by patient name words, member id, authorization number or trace "
        "number, each matched whole with case and accents ignored; every word must match."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def list_episodes(
    user: IntakeOrOpsUser,
    read_model: ReadModelDep,
    state: EpisodeStateName | None = None,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="next deadline at or before this instant")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="a next_cursor")] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="patient name, member id, auth or trace"),
    ] = None,
) -> EpisodePage:
    due: datetime | None = due_before
    if due is not None and not in_range(due):
        item = ProblemItem(
            detail=f"query parameter due_before: {OUT_OF_RANGE}", parameter="due_before"
        )
        raise ApiProblem(422, "invalid_input", f"due_before {OUT_OF_RANGE}", errors=[item])
    page, after = await blocking(read_model.list_episodes, state, payer_id, due, limit, cursor, q)
    return EpisodePage(episodes=page, next_cursor=after)


class PatientSearch(BaseModel):
    """Who to look for; in the body, never the URL, so no access log holds it (PHI)."""

    model_config = ConfigDict(extra="forbid")

    member_id: str | None = Field(default=None, min_length=1, max_length=64)
    patient_name: str | None = Field(default=None, min_length=1, max_length=200)


@router.post(
    "/episodes/search",
    name="episode.search",
    summary="Episodes of a patient, by member id and/or name (ops; audited)",
    description=(
        "Matched on keyed blind indexes of the encrypted fields: member ids ignore case and "
        "spaces, names ignore case and repeated whitespace. 422 when neither is given."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def search_episodes(
    body: PatientSearch, user: OpsUser, read_model: ReadModelDep, request: Request
) -> list[EpisodeSummary]:
    if body.member_id is None and body.patient_name is None:
        items = [ProblemItem(detail="give member_id or patient_name", pointer="#/")]
        raise ApiProblem(422, "invalid_input", "give member_id, patient_name or both", errors=items)
    found = await blocking(read_model.episodes_for_patient, body.member_id, body.patient_name)
    summaries = [await blocking(read_model.summary, episode_id) for episode_id in found]
    request.state.outcome = f"found {len(found)}"
    return [summary for summary in summaries if summary is not None]


@router.get(
    "/episodes/{episode_id}/events",
    name="episode.events",
    summary="The episode's domain events after `after`, every run's, from the event store (ops)",
    responses=READ_ERRORS,
)
async def list_events(
    episode_id: EpisodeId,
    user: OpsUser,
    read_model: ReadModelDep,
    after: Annotated[int, Query(ge=0, description="the last seq already seen")] = 0,
) -> list[StoredEvent]:
    # The event store alone answers: not Temporal, whose retention drops closed runs, and
    # not the derived summary, which `stepdown db rebuild` may be rewriting.
    events = await blocking(read_model.events, episode_id, after)
    if not events and await blocking(read_model.last_seq, episode_id) == 0:
        detail = (
            f"the event store has no episode {episode_id}; an episode shows here once its "
            "first events are projected, so retry shortly after opening it"
        )
        raise ApiProblem(404, "not_found", detail)
    return events


@router.get(
    "/episodes/{episode_id}/history",
    name="episode.history",
    summary="The Temporal history of every run, payloads decoded (ops; audited)",
    responses=READ_ERRORS,
)
async def get_history(
    episode_id: EpisodeId, user: OpsUser, workflows: Workflows
) -> list[HistoryEntry]:
    return await workflows.history(episode_id)

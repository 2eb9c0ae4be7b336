"""Notes on an episode (intake, ops): free text, sealed at rest, reads audited."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from api.auth import IntakeOrOpsUser
from api.deps import ApiDeps, Deps, blocking
from api.problems import ApiProblem, problem_responses
from api.routes.episodes import EpisodeId
from api.schemas import Body
from store.notes import Note, NotesUnavailable, SqlNotes

router = APIRouter(tags=["episodes"])
MAX_NOTE = 4000


class NoteRequest(Body):
    text: str = Field(min_length=1, max_length=MAX_NOTE, examples=["Called the payer's UM line."])


async def notes_of(deps: ApiDeps, episode_id: str) -> SqlNotes:
    """The notes store for a known episode: 404 for an unknown one, 503 without a key."""
    if deps.notes is None:
        raise ApiProblem(503, "unavailable", "notes are not configured on this API")
    if await blocking(deps.read_model.summary, episode_id) is None:
        raise ApiProblem(404, "not_found", f"the read model has no episode {episode_id}")
    return deps.notes


def _unavailable(err: NotesUnavailable) -> ApiProblem:
    return ApiProblem(503, "unavailable", str(err))


@router.post(
    "/episodes/{episode_id}/notes",
    status_code=201,
    name="episode.note",
    summary="Add a note to the episode (intake, ops)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def add_note(
    episode_id: EpisodeId,
    body: NoteRequest,
    user: IntakeOrOpsUser,
    deps: Deps,
    request: Request,
    response: Response,
) -> Note:
    request.state.episode_id = episode_id
    notes = await notes_of(deps, episode_id)
    text = body.text.strip()
    if not text:
        raise ApiProblem(422, "invalid_input", "the note is empty; write what happened")
    try:
        note = await blocking(notes.add, episode_id, user.actor, user.name, text, deps.clock())
    except NotesUnavailable as err:
        raise _unavailable(err) from None
    request.state.outcome = "added"
    response.headers["Location"] = f"/episodes/{episode_id}/notes"
    return note


@router.get(
    "/episodes/{episode_id}/notes",
    name="episode.notes",
    summary="The episode's notes, oldest first (intake, ops; audited)",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_notes(episode_id: EpisodeId, user: IntakeOrOpsUser, deps: Deps) -> list[Note]:
    notes = await notes_of(deps, episode_id)
    try:
        return await blocking(notes.notes, episode_id)
    except NotesUnavailable as err:
        raise _unavailable(err) from None

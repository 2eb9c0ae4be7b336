"""Who owns an episode's work: ops assign an episode to a person (or to nobody)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import OpsUser
from api.deps import ClockDep, ReadModelDep, UsersDep, blocking
from api.problems import ApiProblem, ProblemItem, problem_responses
from api.routes.episodes import EpisodeId
from api.schemas import Body
from store.users import UserRecord, UserStore

router = APIRouter(tags=["operations"])
# The people whose work the worklist is (billing works claims, not episodes).
OWNER_ROLES = ("ops", "intake", "admin")


class OwnerRequest(Body):
    username: str | None = Field(
        max_length=40,
        description="the person who owns the episode's work from now on; null: nobody",
        examples=["dana"],
    )


class Owner(BaseModel):
    username: str
    name: str


class OwnerView(BaseModel):
    episode_id: str
    owner: Owner | None


def owner_of(record: UserRecord | None) -> Owner | None:
    return Owner(username=record.username, name=record.display_name) if record else None


def person_for(users: UserStore, username: str) -> UserRecord:
    """The active ops or intake person `username`, or a 422 saying why not."""
    record = users.by_username(username)
    problem = None
    if record is None:
        problem = f"there is no user {username!r}"
    elif not record.active:
        problem = f"{username!r} is disabled"
    elif not set(record.roles) & set(OWNER_ROLES):
        problem = f"{username!r} works on claims, not episodes; choose someone in ops or intake"
    if problem is not None or record is None:
        detail = problem or "unknown user"
        item = ProblemItem(detail=detail, pointer="#/username")
        raise ApiProblem(422, "invalid_input", detail, errors=[item])
    return record


@router.put(
    "/episodes/{episode_id}/owner",
    name="episode.owner",
    summary="Assign the episode's work to a person, or to nobody (ops)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def assign_owner(
    episode_id: EpisodeId,
    body: OwnerRequest,
    user: OpsUser,
    users: UsersDep,
    read_model: ReadModelDep,
    clock: ClockDep,
    request: Request,
) -> OwnerView:
    request.state.episode_id = episode_id
    if users is None:
        raise ApiProblem(503, "unavailable", "the users store is not configured")
    if await blocking(read_model.summary, episode_id) is None:
        raise ApiProblem(404, "not_found", f"the read model has no episode {episode_id}")
    record = await blocking(person_for, users, body.username) if body.username else None
    await blocking(users.assign, episode_id, record.id if record else None, user.actor, clock())
    request.state.outcome = "assigned" if record else "unassigned"
    return OwnerView(episode_id=episode_id, owner=owner_of(record))

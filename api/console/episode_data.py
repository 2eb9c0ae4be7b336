"""What the console pages read: the worklist with summaries, and one episode's live view."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from api.console.actions import ACTIONS, Failure
from api.console.episode_page import EpisodePage
from api.console.worklist_page import Worklist
from api.deps import ApiDeps, blocking, get_deps, get_episode_calls, request_settings
from api.routes.owners import OWNER_ROLES
from domain.views import StoredEvent
from store.attachments import Attachment
from store.notes import Note, NotesUnavailable
from workflows.client import workflow_id
from workflows.episode import EpisodeWorkflow
from workflows.models import EventsQuery

# Enough for the payer filter of a console; the worklist itself is not cut.
SUMMARY_PAGE = 200
NOTICES = {
    "attached": "Attachment added.",
    "note": "Note added.",
    "owner": "Owner changed.",
    "opened": "Episode opened; the authorization request is on its way to the payer.",
    "already-open": "This episode was already open with exactly these details.",
    "assigned": "The payer's unmatched decision was assigned to this episode and applied.",
}


async def fetch_worklist(
    deps: ApiDeps, kind: str | None, payer: str | None, owner_id: int | None = None
) -> Worklist:
    """The items (of `owner_id`'s episodes only, when given), the summaries, patients and
    owners of their episodes, and the payers to filter by."""
    items = await blocking(deps.read_model.worklist, kind, payer)
    if owner_id is not None and deps.users is not None:
        owned = set(await blocking(deps.users.owned_by, owner_id))
        items = [i for i in items if i.episode_id in owned]
    recent, _ = await blocking(deps.read_model.list_episodes, None, None, None, SUMMARY_PAGE)
    summaries = {s.episode_id: s for s in recent}
    for episode_id in {i.episode_id for i in items if i.episode_id} - set(summaries):
        found = await blocking(deps.read_model.summary, episode_id)
        if found is not None:
            summaries[episode_id] = found
    payers = sorted({s.payer_id for s in summaries.values()} | ({payer} if payer else set()))
    patients = await blocking(
        deps.read_model.patients, [i.episode_id for i in items if i.episode_id]
    )
    ids = [i.episode_id for i in items if i.episode_id]
    found = await blocking(deps.users.owners, ids) if deps.users is not None else {}
    owners = {episode_id: user.display_name for episode_id, user in found.items()}
    return Worklist(items, summaries, patients, payers, owners)


async def timeline_events(deps: ApiDeps, episode_id: str, version: int) -> list[StoredEvent]:
    """The projected events, completed from the workflow when the projection lags behind."""
    events = await blocking(deps.read_model.events, episode_id, 0)
    last = events[-1].seq if events else 0
    if last >= version:
        return events
    try:
        handle = deps.episodes.handle(episode_id)
        tail: list[StoredEvent] = await handle.query(
            EpisodeWorkflow.events, EventsQuery(after=last)
        )
    except Exception:
        # The page still shows the live view; the projection catches up on the next load.
        return events
    return events + tail


def history_url(request: Request, episode_id: str) -> str:
    settings = request_settings(request)
    base = settings.ui_origin().rstrip("/")
    return f"{base}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id(episode_id)}"


def notice_for(done: str | None) -> str:
    if done in NOTICES:
        return NOTICES[done]
    action = ACTIONS.get(done or "")
    return f"Done: {action.title.lower()}." if action else ""


async def load_episode(
    request: Request,
    episode_id: str,
    *,
    done: str | None = None,
    failed: tuple[str, Failure] | None = None,
) -> EpisodePage:
    """Raises Rejected for an unknown episode, WorkflowServiceUnavailable when Temporal is down."""
    deps = get_deps(request)
    view = await get_episode_calls(request).view(episode_id)
    events = await timeline_events(deps, episode_id, view.version)
    sent = await blocking(deps.submissions.for_episode, episode_id) if deps.submissions else []
    return EpisodePage(
        view=view,
        events=events,
        history_url=history_url(request, episode_id),
        now=deps.clock(),
        failed=failed,
        notice="" if failed else notice_for(done),
        submissions=sent,
        zone=ZoneInfo(request_settings(request).console_timezone),
        **await owner_and_people(deps, episode_id),
        notes=await notes_or_none(deps, episode_id),
        files=await files_or_none(deps, episode_id),
    )


async def files_or_none(deps: ApiDeps, episode_id: str) -> list[Attachment] | None:
    if deps.attachments is None:
        return None
    try:
        return await blocking(deps.attachments.attachments, episode_id)
    except NotesUnavailable:
        return None


async def notes_or_none(deps: ApiDeps, episode_id: str) -> list[Note] | None:
    if deps.notes is None:
        return None
    try:
        return await blocking(deps.notes.notes, episode_id)
    except NotesUnavailable:
        return None


async def owner_and_people(deps: ApiDeps, episode_id: str) -> dict[str, Any]:
    """The episode's owner's name and who may own it (active ops and intake people)."""
    if deps.users is None:
        return {}
    owners = await blocking(deps.users.owners, [episode_id])
    everyone = await blocking(deps.users.users)
    people = [
        (u.username, u.display_name)
        for u in everyone
        if u.active and set(u.roles) & set(OWNER_ROLES)
    ]
    owner = owners.get(episode_id)
    return {"owner": owner.display_name if owner else None, "people": people}

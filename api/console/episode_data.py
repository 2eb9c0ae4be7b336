"""What the console pages read: the worklist with summaries, and one episode's live view."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import Request

from api.console.actions import ACTIONS, Failure
from api.console.episode_page import EpisodePage
from api.console.worklist_page import Worklist
from api.deps import ApiDeps, blocking, get_deps, get_gateway, get_settings
from domain.views import StoredEvent
from workflows.client import workflow_id
from workflows.episode import EpisodeWorkflow
from workflows.models import EventsQuery

# Enough for the payer filter of a console; the worklist itself is not cut.
SUMMARY_PAGE = 200
NOTICES = {
    "opened": "Episode opened; the authorization request is on its way to the payer.",
    "already-open": "This episode was already open with exactly these details.",
}


async def fetch_worklist(deps: ApiDeps, kind: str | None, payer: str | None) -> Worklist:
    """The items, the summaries and patients of their episodes, and the payers to filter by."""
    items = await blocking(deps.read_model.worklist, kind, payer)
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
    return Worklist(items, summaries, patients, payers)


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
    settings = get_settings(request)
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
    view = await get_gateway(request).view(episode_id)
    events = await timeline_events(deps, episode_id, view.version)
    return EpisodePage(
        view=view,
        events=events,
        history_url=history_url(request, episode_id),
        now=deps.clock(),
        failed=failed,
        notice="" if failed else notice_for(done),
        zone=ZoneInfo(get_settings(request).console_timezone),
    )

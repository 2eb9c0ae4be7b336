"""The console's pages: worklist, episode (with its action forms) and the intake form."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.console import files, login, notifications_page, password, sso
from api.console.actions import ACTIONS, Failure, build
from api.console.episode_data import fetch_worklist, files_or_none, load_episode
from api.console.episode_page import EPISODE_SCRIPT, episode_body
from api.console.episodes_page import clean_query, clean_state, episodes_body, find
from api.console.gate import enter, forbidden, submitted
from api.console.intake import FORM_LEVEL, command_from, problem_errors
from api.console.intake_form import FOCUS_ERRORS, defaults, intake_body
from api.console.page import SECURITY_HEADERS, message_page, render
from api.console.reports_page import parse_period, reports_body
from api.console.session import Session, users_of
from api.console.worklist_page import clean_kind, clean_payer, clean_sort, worklist_body
from api.deps import ApiDeps, blocking, get_deps, get_episode_calls, request_settings
from api.inbox import assign
from api.opening import open_episode
from api.payer_check import payer_problems
from api.problems import ApiProblem, status_for
from api.reports import as_csv
from api.routes.notes import MAX_NOTE
from api.routes.owners import person_for
from domain.commands import EPISODE_ID_PATTERN
from domain.errors import Rejected
from domain.report import REPORT_EVENTS, SummaryReport, summary_report
from workflows.client import WorkflowServiceUnavailable

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(login.router)
router.include_router(notifications_page.router)
router.include_router(password.router)
router.include_router(files.router)
router.include_router(sso.router)
INTAKE_ROLES = ("intake", "ops")
WORKLIST_ROLES = ("ops",)
REPORT_ROLES = ("ops",)
UNAVAILABLE = (
    "The workflow service (Temporal) did not answer in time. "
    "Check whether the change was made, then retry in a few seconds."
)


def unavailable(session: Session) -> Response:
    return message_page("Workflow service unavailable", UNAVAILABLE, session, 503)


@router.get("", name="console.worklist")
async def worklist(
    request: Request,
    kind: str | None = None,
    payer: str | None = None,
    mine: str | None = None,
    sort: str | None = None,
) -> Response:
    gate = await enter(request)
    if isinstance(gate, Response):
        return gate
    if not gate.may(*WORKLIST_ROLES):
        # The worklist is ops work (GET /worklist is ops only); intake's page is the form.
        return RedirectResponse(request.url_for("console.intake_form").path, status_code=303)
    kind, payer = clean_kind(kind), clean_payer(payer)
    deps = get_deps(request)
    # "My work": the items of the episodes this person owns (a role token owns none).
    owner_id = gate.user.user_id if mine else None
    mine_only = bool(mine) and owner_id is not None
    data = await fetch_worklist(deps, kind, payer, owner_id)
    zone = request_settings(request).console_timezone
    now, sort_by = deps.clock(), clean_sort(sort)
    body = worklist_body(data, kind, payer, now, zone, mine_only, sort_by, csrf=gate.csrf)
    return render("My work" if mine_only else "Worklist", body, gate)


@router.get("/episodes", name="console.episodes")
async def episodes(
    request: Request, q: str | None = None, state: str | None = None, payer: str | None = None
) -> Response:
    """All episodes, or those a search finds, for intake and ops (as GET /episodes)."""
    gate = await enter(request, INTAKE_ROLES)
    if isinstance(gate, Response):
        return gate
    query, state, payer = clean_query(q), clean_state(state), clean_payer(payer)
    deps = get_deps(request)
    found = await find(deps, query, state, payer)
    body = episodes_body(found, query, state, payer, deps.clock())
    title = f"Search: {query}" if query else "All episodes"
    return render(title, body, gate, query=query)


@router.get("/reports", name="console.reports")
async def reports(request: Request) -> Response:
    """The summary report of a period (ops, as GET /reports/summary), charts and a table."""
    gate = await enter(request, REPORT_ROLES)
    if isinstance(gate, Response):
        return gate
    deps = get_deps(request)
    start, end, errors, span = parse_period(
        request.query_params.get("from"), request.query_params.get("to"), deps.clock().date()
    )
    report = await summary_of(deps, span) if span else None
    body = reports_body(start, end, errors, report)
    return render("Reports", body, gate, status=422 if errors else 200)


@router.get("/reports.csv", name="console.reports_csv")
async def reports_csv(request: Request) -> Response:
    gate = await enter(request, REPORT_ROLES)
    if isinstance(gate, Response):
        return gate
    deps = get_deps(request)
    start, end, errors, span = parse_period(
        request.query_params.get("from"), request.query_params.get("to"), deps.clock().date()
    )
    if span is None:
        return message_page("Not a period", " ".join(errors.values()), gate, 422)
    name = f"stepdown-summary-{start}-{end}.csv"
    headers = SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{name}"'}
    report = await summary_of(deps, span)
    return Response(as_csv(report), media_type="text/csv; charset=utf-8", headers=headers)


async def summary_of(deps: ApiDeps, span: tuple[datetime, datetime]) -> SummaryReport:
    rows = await blocking(deps.read_model.payer_events, *span, REPORT_EVENTS)
    return summary_report(rows, *span)


@router.get("/episodes/new", name="console.intake_form")
async def intake_form(request: Request) -> Response:
    gate = await enter(request, INTAKE_ROLES)
    if isinstance(gate, Response):
        return gate
    return render("Open an episode", intake_body(gate, defaults(), {}), gate)


@router.post("/episodes/new", name="console.intake")
async def intake(request: Request) -> Response:
    posted = await submitted(request, INTAKE_ROLES)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    command, errors = command_from(form)
    status = 422
    if command is not None:
        request.state.episode_id = command.episode_id
        try:
            unknown = await payer_problems(get_deps(request), command.payer)
            if unknown:
                raise Rejected("invalid_input", [sentence for _, sentence in unknown])
            view, created = await open_episode(
                get_deps(request),
                get_episode_calls(request),
                command,
                user=session.user,
                action="console.intake",
                request_id=request.state.request_id,
            )
        except Rejected as err:
            errors, status = problem_errors(err.problems, err.code), status_for(err.code)
        except WorkflowServiceUnavailable:
            errors, status = {FORM_LEVEL: [UNAVAILABLE]}, 503
        else:
            request.state.outcome = "created" if created else "unchanged"
            done = "opened" if created else "already-open"
            return RedirectResponse(f"/console/episodes/{view.episode_id}?done={done}", 303)
    request.state.outcome = "invalid"
    body = intake_body(session, form, errors)
    return render("Open an episode", body, session, status=status, script=FOCUS_ERRORS)


def valid_id(episode_id: str) -> bool:
    return re.fullmatch(EPISODE_ID_PATTERN, episode_id) is not None


async def show_episode(
    request: Request,
    session: Session,
    episode_id: str,
    *,
    done: str | None = None,
    failed: tuple[str, Failure] | None = None,
    status: int = 200,
) -> Response:
    try:
        page = await load_episode(request, episode_id, done=done, failed=failed)
    except Rejected:
        detail = f"There is no episode {episode_id}."
        return message_page("No such episode", detail, session, 404)
    except WorkflowServiceUnavailable:
        return unavailable(session)
    body = episode_body(page, session)
    return render(f"Episode {episode_id}", body, session, status=status, script=EPISODE_SCRIPT)


@router.get("/episodes/{episode_id}", name="console.episode")
async def episode(request: Request, episode_id: str, done: str | None = None) -> Response:
    gate = await enter(request)
    if isinstance(gate, Response):
        return gate
    if not valid_id(episode_id):
        return message_page("No such episode", "That is not an episode id.", gate, 404)
    return await show_episode(request, gate, episode_id, done=done)


@router.post("/episodes/{episode_id}/notes", name="console.note")
async def add_note(request: Request, episode_id: str) -> Response:
    """A note on the episode (intake, ops), as POST /episodes/{id}/notes adds it."""
    posted = await submitted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    if not valid_id(episode_id):
        return message_page("Not found", "That is not an episode id.", session, 404)
    request.state.episode_id = episode_id
    deps = get_deps(request)
    if deps.notes is None or await blocking(deps.read_model.summary, episode_id) is None:
        return message_page("No such episode", f"There is no episode {episode_id}.", session, 404)
    text = form.get("text", "").strip()
    error = "" if text else "Write the note before adding it."
    if len(text) > MAX_NOTE:
        error = f"Keep the note under {MAX_NOTE} characters; it has {len(text)}."
    if error:
        request.state.outcome = "invalid"
        return await show_note_error(request, session, episode_id, form.get("text", ""), error)
    user = session.user
    await blocking(deps.notes.add, episode_id, user.actor, user.name, text, deps.clock())
    request.state.outcome = "added"
    return RedirectResponse(f"/console/episodes/{episode_id}?done=note", status_code=303)


async def show_note_error(
    request: Request, session: Session, episode_id: str, draft: str, error: str
) -> Response:
    page = await load_episode(request, episode_id)
    page.note_draft, page.note_error = draft[: MAX_NOTE + 100], error
    body = episode_body(page, session)
    title = f"Episode {episode_id}"
    return render(title, body, session, status=422, script=EPISODE_SCRIPT)


@router.post("/episodes/{episode_id}/owner", name="console.owner")
async def assign_owner(request: Request, episode_id: str) -> Response:
    """Ops give the episode to a person (or to nobody), as PUT /episodes/{id}/owner does."""
    posted = await submitted(request, ("ops",))
    if isinstance(posted, Response):
        return posted
    session, form = posted
    if not valid_id(episode_id):
        return message_page("Not found", "That is not an episode id.", session, 404)
    request.state.episode_id = episode_id
    deps = get_deps(request)
    users = users_of(request)
    if await blocking(deps.read_model.summary, episode_id) is None:
        return message_page("No such episode", f"There is no episode {episode_id}.", session, 404)
    username = form.get("username", "").strip()[:40]
    try:
        record = await blocking(person_for, users, username) if username else None
    except ApiProblem as problem:
        request.state.outcome = "invalid"
        return message_page("Not assigned", problem.detail + ".", session, 422)
    owner_id = record.id if record else None
    await blocking(users.assign, episode_id, owner_id, session.user.actor, deps.clock())
    request.state.outcome = "assigned" if record else "unassigned"
    return RedirectResponse(f"/console/episodes/{episode_id}?done=owner", status_code=303)


@router.post("/episodes/{episode_id}/actions/{name}", name="console.action")
async def act(request: Request, episode_id: str, name: str) -> Response:
    posted = await submitted(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    action = ACTIONS.get(name)
    if action is None or not valid_id(episode_id):
        return message_page("Not found", "No such action or episode.", session, 404)
    # The audit entry names the action taken, not only the route every action shares.
    request.state.action = f"console.action.{action.name}"
    if not session.may(*action.roles):
        return forbidden(session.role, session, action.roles)
    request.state.episode_id = episode_id
    # Audited under the action's own name, not the one route every action shares.
    request.state.action = f"console.action.{name}"
    arg, errors = build(action, form)
    if errors:
        request.state.outcome = "invalid"
        failure = Failure(form, errors)
        return await show_episode(request, session, episode_id, failed=(name, failure), status=422)
    strangers = await foreign_attachments(get_deps(request), episode_id, arg)
    if strangers:
        request.state.outcome = "invalid"
        failure = Failure(form, problems=strangers)
        return await show_episode(request, session, episode_id, failed=(name, failure), status=422)
    try:
        await get_episode_calls(request).update(episode_id, action.update, arg)
    except Rejected as err:
        request.state.outcome = err.code
        failure = Failure(form, problems=err.problems)
        status = status_for(err.code)
        return await show_episode(
            request, session, episode_id, failed=(name, failure), status=status
        )
    except WorkflowServiceUnavailable:
        return unavailable(session)
    return RedirectResponse(f"/console/episodes/{episode_id}?done={name}", status_code=303)


async def foreign_attachments(deps: ApiDeps, episode_id: str, arg: object) -> list[str]:
    """Why the attachments a form names cannot go with it (not this episode's), or []."""
    ids = getattr(arg, "attachments", ())
    if not ids:
        return []
    listed = await files_or_none(deps, episode_id)
    known = {f.id for f in listed or []}
    return [f"This episode has no attachment {n}." for n in ids if n not in known]


@router.post("/deliveries/{payer_id}/{delivery_id}/assign", name="console.assign")
async def assign_delivery(request: Request, payer_id: str, delivery_id: str) -> Response:
    """The worklist's assign form: as POST /webhooks/deliveries/.../assign, audited alike."""
    posted = await submitted(request, WORKLIST_ROLES)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    episode_id = form.get("episode_id", "").strip()
    if not valid_id(episode_id):
        request.state.outcome = "invalid"
        return message_page("Not an episode id", "Give the id of an episode.", session, 422)
    request.state.episode_id = episode_id
    try:
        await assign(
            get_deps(request), get_episode_calls(request), payer_id, delivery_id, episode_id
        )
    except ApiProblem as problem:
        request.state.outcome = problem.code
        return message_page("Not assigned", problem.detail, session, problem.status)
    except Rejected as err:
        request.state.outcome = err.code
        detail = f"Episode {episode_id} refused the decision: {err}"
        return message_page("Not assigned", detail, session, status_for(err.code))
    except WorkflowServiceUnavailable:
        return unavailable(session)
    request.state.outcome = "assigned"
    return RedirectResponse(f"/console/episodes/{episode_id}?done=assigned", status_code=303)

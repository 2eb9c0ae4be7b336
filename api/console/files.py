"""The episode page's attachments: a multipart upload (CSRF checked by hand: the console's
form reader takes urlencoded forms only) and downloads through the session."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from api.console.gate import enter, security_log
from api.console.page import message_page
from api.console.session import CONSOLE_ROLES, client_of, csrf_ok, same_origin
from api.deps import blocking, get_deps
from api.routes.attachments import download
from store.attachments import MAX_BYTES, AttachmentRefused
from store.notes import NotesUnavailable

router = APIRouter(include_in_schema=False)


@router.post("/episodes/{episode_id}/attachments", name="console.attach")
async def attach(request: Request, episode_id: str) -> Response:
    if not same_origin(request):
        security_log.warning("console upload from another origin: from=%s", client_of(request))
        return message_page("Refused", "The form was sent from another site.", None, 403)
    gate = await enter(request, CONSOLE_ROLES)
    if isinstance(gate, Response):
        return gate
    deps = get_deps(request)
    if deps.attachments is None or await blocking(deps.read_model.summary, episode_id) is None:
        return message_page("No such episode", f"There is no episode {episode_id}.", gate, 404)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return message_page("Refused", "Send the file with the page's form.", gate, 415)
    async with request.form(max_files=1, max_fields=3) as form:
        if not csrf_ok(gate, {"csrf": str(form.get("csrf", ""))}):
            request.state.outcome = "csrf_refused"
            detail = "The form's security token does not match your session. Reload the page."
            return message_page("Form expired", detail, gate, 403)
        upload = form.get("file")
        data, name = b"", ""
        if isinstance(upload, UploadFile):
            data, name = await upload.read(MAX_BYTES + 1), upload.filename or ""
    request.state.episode_id = episode_id
    by = (gate.user.actor, gate.user.name)
    try:
        await blocking(deps.attachments.add, episode_id, name, data, by, deps.clock())
    except AttachmentRefused as err:
        request.state.outcome = "invalid"
        return message_page("Not attached", f"Not attached: {err}.", gate, 422)
    except NotesUnavailable as err:
        return message_page("Not attached", str(err), gate, 503)
    request.state.outcome = "attached"
    return RedirectResponse(f"/console/episodes/{episode_id}?done=attached", status_code=303)


@router.get("/episodes/{episode_id}/attachments/{attachment_id}", name="console.attachment")
async def fetch(request: Request, episode_id: str, attachment_id: int) -> Response:
    gate = await enter(request, CONSOLE_ROLES)
    if isinstance(gate, Response):
        return gate
    deps = get_deps(request)
    found = None
    if deps.attachments is not None:
        try:
            found = await blocking(deps.attachments.content, episode_id, attachment_id)
        except NotesUnavailable:
            found = None
    if found is None:
        return message_page("Not found", "There is no such attachment.", gate, 404)
    return download(*found)

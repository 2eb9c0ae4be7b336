"""Attachments of an episode (intake, ops): clinical documentation uploaded, listed, fetched.

Upload as multipart (`file`); only PDF, PNG and JPEG by their bytes, at most
store.attachments.MAX_BYTES; kept sealed. Listing and fetching are audited reads.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Request, Response, UploadFile

from api.auth import IntakeOrOpsUser
from api.deps import ApiDeps, Deps, blocking
from api.problems import ApiProblem, ProblemItem, problem_responses
from api.routes.episodes import EpisodeId
from store.attachments import MAX_BYTES, Attachment, AttachmentRefused, SqlAttachments
from store.notes import NotesUnavailable

router = APIRouter(tags=["episodes"])


async def attachments_of(deps: ApiDeps, episode_id: str) -> SqlAttachments:
    if deps.attachments is None:
        raise ApiProblem(503, "unavailable", "attachments are not configured on this API")
    if await blocking(deps.read_model.summary, episode_id) is None:
        raise ApiProblem(404, "not_found", f"the read model has no episode {episode_id}")
    return deps.attachments


def refused(err: AttachmentRefused) -> ApiProblem:
    status = 413 if "limit" in str(err) else 415 if "only PDF" in str(err) else 422
    code = {413: "too_large", 415: "unsupported_type"}.get(status, "invalid_input")
    item = ProblemItem(detail=str(err), pointer="#/file")
    return ApiProblem(status, code, str(err), errors=[item])


@router.post(
    "/episodes/{episode_id}/attachments",
    status_code=201,
    name="episode.attach",
    summary=f"Attach a PDF, PNG or JPEG of at most {MAX_BYTES} bytes (intake, ops)",
    responses=problem_responses(401, 403, 404, 413, 415, 422, 503),
)
async def attach(
    episode_id: EpisodeId,
    file: Annotated[UploadFile, File(description="the document")],
    user: IntakeOrOpsUser,
    deps: Deps,
    request: Request,
) -> Attachment:
    request.state.episode_id = episode_id
    store = await attachments_of(deps, episode_id)
    data = await file.read(MAX_BYTES + 1)
    try:
        found = await blocking(
            store.add, episode_id, file.filename or "", data, (user.actor, user.name), deps.clock()
        )
    except AttachmentRefused as err:
        raise refused(err) from None
    except NotesUnavailable as err:
        raise ApiProblem(503, "unavailable", str(err)) from None
    request.state.outcome = "attached"
    return found


@router.get(
    "/episodes/{episode_id}/attachments",
    name="episode.attachments",
    summary="The episode's attachments, oldest first (intake, ops; audited)",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_attachments(
    episode_id: EpisodeId, user: IntakeOrOpsUser, deps: Deps
) -> list[Attachment]:
    store = await attachments_of(deps, episode_id)
    try:
        return await blocking(store.attachments, episode_id)
    except NotesUnavailable as err:
        raise ApiProblem(503, "unavailable", str(err)) from None


@router.get(
    "/episodes/{episode_id}/attachments/{attachment_id}",
    name="episode.attachment",
    summary="One attachment's bytes (intake, ops; audited)",
    responses=problem_responses(401, 403, 404, 503)
    | {200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
    response_class=Response,
)
async def fetch_attachment(
    episode_id: EpisodeId,
    attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: IntakeOrOpsUser,
    deps: Deps,
) -> Response:
    store = await attachments_of(deps, episode_id)
    try:
        found = await blocking(store.content, episode_id, attachment_id)
    except NotesUnavailable as err:
        raise ApiProblem(503, "unavailable", str(err)) from None
    if found is None:
        raise ApiProblem(
            404, "not_found", f"episode {episode_id} has no attachment {attachment_id}"
        )
    return download(*found)


def download(info: Attachment, data: bytes) -> Response:
    """The bytes as a download (never rendered in place), not cached: they are PHI."""
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(info.filename)}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=info.content_type, headers=headers)

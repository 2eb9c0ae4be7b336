"""The payer directory (admin): channel, endpoints and credential references of each payer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import User, allow
from api.deps import ClockDep, DirectoryDep, blocking
from api.problems import ApiProblem, problem_responses
from store.payers import PAYER_ID_PATTERN, PayerEntry, PayerSettings

router = APIRouter(tags=["payer directory"])

AdminUser = Annotated[User, Depends(allow())]
PayerId = Annotated[str, Path(pattern=PAYER_ID_PATTERN, examples=["acme-medicaid"])]


@router.get(
    "/payers",
    name="payers.list",
    summary="Every payer in the directory, by id (admin)",
    responses=problem_responses(401, 403, 503),
)
async def list_payers(user: AdminUser, directory: DirectoryDep) -> list[PayerEntry]:
    return await blocking(directory.list)


@router.get(
    "/payers/{payer_id}",
    name="payers.show",
    summary="One payer's settings (admin)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def show_payer(payer_id: PayerId, user: AdminUser, directory: DirectoryDep) -> PayerEntry:
    entry = await blocking(directory.get, payer_id)
    if entry is None:
        detail = f"payer {payer_id} is not in the directory; PUT /payers/{payer_id} registers it"
        raise ApiProblem(404, "not_found", detail)
    return entry


@router.put(
    "/payers/{payer_id}",
    name="payers.set",
    summary="Register or replace a payer's settings (admin)",
    description=(
        "The whole settings each time (PUT replaces). Secrets are references, `env:NAME` or "
        "`file:/path`, never values: `webhook_secrets` lists the current secret first, then "
        "the previous ones a payer may still sign with during a rotation (at most 3); empty "
        "uses STEPDOWN_WEBHOOK_SECRETS (in dev mode the dev secret). `channel` `pas` needs "
        '`pas`. `{"plan_type": "commercial", "channel": "webhook"}` registers a payer that '
        "only answers by the signed webhook. 201 created, 200 replaced."
    ),
    responses=problem_responses(401, 403, 422, 503)
    | {201: {"model": PayerEntry, "description": "Registered"}},
)
async def set_payer(
    payer_id: PayerId,
    body: PayerSettings,
    user: AdminUser,
    clock: ClockDep,
    directory: DirectoryDep,
    request: Request,
    response: Response,
) -> PayerEntry:
    entry, created = await blocking(directory.put, payer_id, body, clock())
    response.status_code = 201 if created else 200
    request.state.outcome = "created" if created else "replaced"
    return entry

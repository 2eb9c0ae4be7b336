"""The claims outbox: released claims on their way out, and their 837I batches (billing, ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from activities.claims_batches import ClaimBatcher, ClaimsNotConfigured
from api.auth import BillingUser, User, allow
from api.deps import ClockDep, Deps, blocking
from api.problems import ApiProblem, problem_responses
from store.claims import BatchStateConflict, ClaimBatch, OutboxEntry, OutboxStatus, UnknownBatch

router = APIRouter(tags=["claims"])
BillingOrOpsUser = Annotated[User, Depends(allow("billing", "ops"))]
BatchId = Annotated[str, Path(pattern=r"^CB\d{7,9}$", examples=["CB0000001"])]
X12 = "application/edi-x12"


class Outbox(BaseModel):
    claims: list[OutboxEntry]


class BatchList(BaseModel):
    batches: list[ClaimBatch]


class BatchRequest(BaseModel):
    """Cut a batch of every queued claim, or only those of one payer."""

    model_config = ConfigDict(extra="forbid")

    payer_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class Acknowledgement(BaseModel):
    """The clearinghouse's answer to a sent batch (its 999), as billing read it."""

    model_config = ConfigDict(extra="forbid")

    accepted: bool
    error: str | None = Field(default=None, min_length=1, max_length=2000)


def batcher(deps: Deps) -> ClaimBatcher:
    if deps.claims is None:
        raise ApiProblem(503, "claims_not_configured", "this API runs without a claims outbox")
    return deps.claims


Batcher = Annotated[ClaimBatcher, Depends(batcher)]


@router.get(
    "/claims/outbox",
    name="claims.outbox",
    summary="Released claims and where each stands: queued → batched → sent → accepted/rejected",
    responses=problem_responses(401, 403, 422),
)
async def outbox(
    user: BillingOrOpsUser,
    claims: Batcher,
    status: OutboxStatus | None = None,
    episode_id: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Outbox:
    return Outbox(claims=await blocking(claims.batches.outbox, status, episode_id, limit))


@router.post(
    "/claims/batches",
    status_code=201,
    name="claims.cut",
    summary="Cut a batch of every queued claim now and send its 837I file (billing)",
    description=(
        "201 with the batch: its claims, its ISA/GS/ST control numbers and its status "
        "(`sent` once the file is written to the clearinghouse mailbox, `batched` while a "
        "failed put waits for the next pass). 409 `nothing_queued` when no claim waits, "
        "409 `claims_not_configured` without STEPDOWN_CLAIMS_SUBMITTER. "
        "Batches are also cut on a schedule (STEPDOWN_CLAIMS_BATCH_INTERVAL)."
    ),
    responses=problem_responses(401, 403, 409, 422),
)
async def cut(
    user: BillingUser, claims: Batcher, request: Request, body: BatchRequest | None = None
) -> ClaimBatch:
    payer_id = body.payer_id if body else None
    try:
        batch = await claims.cut_and_send(payer_id)
    except ClaimsNotConfigured as err:
        # 409, not 5xx: the request is fine, the deployment's state does not allow it yet.
        raise ApiProblem(409, "claims_not_configured", str(err)) from err
    if batch is None:
        whose = f" for payer {payer_id}" if payer_id else ""
        raise ApiProblem(409, "nothing_queued", f"no released claim is queued{whose}")
    request.state.outcome = batch.status
    return batch


@router.get(
    "/claims/batches",
    name="claims.batches",
    summary="The latest batches, newest first (billing, ops)",
    responses=problem_responses(401, 403, 422),
)
async def batches(
    user: BillingOrOpsUser,
    claims: Batcher,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> BatchList:
    return BatchList(batches=await blocking(claims.batches.batches, limit))


@router.get(
    "/claims/batches/{batch_id}",
    name="claims.batch",
    summary="One batch with its claims and control numbers (billing, ops)",
    responses=problem_responses(401, 403, 404, 422),
)
async def batch(batch_id: BatchId, user: BillingOrOpsUser, claims: Batcher) -> ClaimBatch:
    try:
        return await blocking(claims.batches.batch, batch_id)
    except UnknownBatch as err:
        raise unknown(batch_id) from err


@router.get(
    "/claims/batches/{batch_id}/x12",
    name="claims.batch_x12",
    summary="The batch's 837I file exactly as sent (billing, ops)",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422)
    | {200: {"content": {X12: {}}, "description": "The 837I (005010X223A2)"}},
)
async def batch_x12(batch_id: BatchId, user: BillingOrOpsUser, claims: Batcher) -> Response:
    try:
        file = await blocking(claims.batches.batch_file, batch_id)
    except UnknownBatch as err:
        raise unknown(batch_id) from err
    disposition = f'attachment; filename="{file.file_name}"'
    return Response(file.x12, media_type=X12, headers={"Content-Disposition": disposition})


@router.post(
    "/claims/batches/{batch_id}/acknowledgement",
    name="claims.acknowledge",
    summary="Record the clearinghouse's answer to a sent batch (billing)",
    description=(
        "Every claim of the batch becomes `accepted` or `rejected` (with `error`). The same "
        "answer again changes nothing; 409 for a batch not sent yet or already answered "
        "otherwise. The clearinghouse mailbox's 999 poller records the same answers."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def acknowledge(
    batch_id: BatchId, body: Acknowledgement, user: BillingUser, claims: Batcher, clock: ClockDep,
    request: Request,
) -> ClaimBatch:  # fmt: skip
    try:
        batch = await blocking(
            claims.batches.acknowledge, batch_id, body.accepted, clock(), body.error
        )
    except UnknownBatch as err:
        raise unknown(batch_id) from err
    except BatchStateConflict as err:
        raise ApiProblem(409, "batch_state_conflict", str(err)) from err
    request.state.outcome = batch.status
    return batch


def unknown(batch_id: str) -> ApiProblem:
    return ApiProblem(404, "unknown_batch", f"there is no claim batch {batch_id}")

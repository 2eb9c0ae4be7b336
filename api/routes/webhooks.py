"""The signed payer webhook: a decision in canonical JSON, Da Vinci PAS or X12 278."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from api.audit import audit_entry
from api.auth import OpsUser
from api.deps import Deps, Workflows
from api.inbox import Answer, DeliveryProcessor, assign
from api.problems import PROBLEM_JSON, problem_responses, traceback_only
from api.schemas import WebhookAccepted
from api.signed import DELIVERY_ID, PAYER_ID, VerifiedWebhook
from domain.commands import EPISODE_ID_PATTERN
from store.ports import AuditEntry

router = APIRouter(tags=["payer webhooks"])
log = logging.getLogger("stepdown.api.webhooks")

BODY_FORMATS = {
    "application/json": {"schema": {"type": "object", "description": "canonical decision"}},
    "application/fhir+json": {
        "schema": {"type": "object", "description": "Da Vinci PAS ClaimResponse or Bundle"}
    },
    "application/edi-x12": {"schema": {"type": "string", "description": "X12 278 response"}},
}


@router.post(
    "/webhooks/payers/{payer_id}",
    status_code=202,
    name="webhook.payer",
    summary="A payer's decision, signed with Stepdown-Signature (no token)",
    description=(
        "401 when the signature does not verify (nothing stored); the delivery is committed "
        "to the inbox before anything else. 202 applied, queued (Temporal unreachable: "
        "applied later) or duplicate (a repeated Stepdown-Delivery hears the first answer "
        "and is applied once; so is a signed message re-sent under a new delivery id, which "
        "hears the first delivery's answer); 404 unknown trace number (kept as unmatched, "
        "on the worklist, and re-evaluated on every retry and when its episode becomes "
        "known); 409 a delivery id reused with a different body, or the episode refuses "
        "the decision (e.g. it answers an earlier request); 415 unsupported Content-Type; "
        "422 unparseable body or absurd dates/units (kept as rejected); "
        "503 database unreachable, retry."
    ),
    response_model=WebhookAccepted,
    responses=problem_responses(401, 404, 409, 415, 422, 503),
    openapi_extra={"requestBody": {"required": True, "content": BODY_FORMATS}},
)
async def payer_webhook(
    payer_id: str, delivery: VerifiedWebhook, deps: Deps, workflows: Workflows, request: Request
) -> JSONResponse:
    def audit_of(answer: Answer) -> AuditEntry | None:
        # Written with the inbox row it settles (one transaction); ObserveMiddleware then
        # skips the request. A replay or a repeat is audited by the middleware as before.
        request.state.outcome = answer.outcome
        request.state.episode_id = answer.episode_id
        return audit_entry(request.scope, answer.status_code, deps.clock())

    async def settle() -> None:
        # After the payer has its answer: the inbox mark and its audit entry, one commit
        # off the answer's path (DeliveryProcessor, settle_later).
        try:
            await processor.settle()
        except Exception as err:
            log.error("delivery %s not settled: %s", delivery.delivery_id, traceback_only(err))
        request.state.audited = processor.audited

    processor = DeliveryProcessor(deps, workflows, audit_of, settle_later=True)
    answer = await processor.receive(delivery)
    request.state.outcome = answer.outcome
    request.state.episode_id = answer.episode_id
    deps.metrics.inc("stepdown_webhook_deliveries_total", status=answer.outcome)
    media_type = PROBLEM_JSON if answer.status_code >= 400 else "application/json"
    response = JSONResponse(answer.body, answer.status_code, media_type=media_type)
    response.background = BackgroundTask(settle)
    return response


class Assignment(BaseModel):
    """The episode ops say an unmatched delivery answers."""

    model_config = ConfigDict(extra="forbid")

    episode_id: str = Field(pattern=EPISODE_ID_PATTERN, examples=["ep-2026-0001"])


@router.post(
    "/webhooks/deliveries/{payer_id}/{delivery_id}/assign",
    name="webhook.assign",
    summary="Apply an unmatched delivery to the episode it answers (ops; audited)",
    description=(
        "For a `webhook_unmatched` worklist item. 200 applied; 404 no such delivery from that "
        "payer, or no such episode; 409 the delivery is not unmatched, the episode belongs to "
        "another payer, or the episode refuses the decision (the delivery stays unmatched); "
        "503 Temporal unavailable (nothing changed)."
    ),
    response_model=WebhookAccepted,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def assign_delivery(
    payer_id: Annotated[str, Path(pattern=PAYER_ID.pattern)],
    delivery_id: Annotated[str, Path(pattern=DELIVERY_ID.pattern)],
    body: Assignment,
    user: OpsUser,
    deps: Deps,
    workflows: Workflows,
    request: Request,
) -> JSONResponse:
    request.state.episode_id = body.episode_id
    answer = await assign(deps, workflows, payer_id, delivery_id, body.episode_id)
    request.state.outcome = "assigned"
    return JSONResponse(answer.body, 200)

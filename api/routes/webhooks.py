"""The signed payer webhook: a decision in canonical JSON, Da Vinci PAS or X12 278."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import Deps, Workflows
from api.inbox import DeliveryProcessor
from api.problems import PROBLEM_JSON, problem_responses
from api.schemas import WebhookAccepted
from api.signed import VerifiedWebhook

router = APIRouter(tags=["payer webhooks"])

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
        "and is applied once); 404 unknown trace number (kept as unmatched, on the "
        "worklist); 409 the episode refuses the decision (e.g. it answers an earlier "
        "request); 415 unsupported Content-Type; 422 unparseable body (kept as rejected); "
        "503 database unreachable, retry."
    ),
    response_model=WebhookAccepted,
    responses=problem_responses(401, 404, 409, 415, 422, 503),
    openapi_extra={"requestBody": {"required": True, "content": BODY_FORMATS}},
)
async def payer_webhook(
    payer_id: str, delivery: VerifiedWebhook, deps: Deps, workflows: Workflows, request: Request
) -> JSONResponse:
    answer = await DeliveryProcessor(deps, workflows).receive(delivery)
    request.state.outcome = answer.outcome
    request.state.episode_id = answer.episode_id
    deps.metrics.inc("stepdown_webhook_deliveries_total", status=answer.outcome)
    media_type = PROBLEM_JSON if answer.status_code >= 400 else "application/json"
    return JSONResponse(answer.body, answer.status_code, media_type=media_type)

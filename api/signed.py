"""The payer webhook's authentication: a verified Stepdown-Signature, then a delivery id."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import Depends, Header, Request

from api.deps import Deps, SettingsDep, blocking
from api.inbox import SignedDelivery
from api.problems import ApiProblem, ProblemItem
from payers.credentials import webhook_secrets
from payers.signature import SignatureError, verify

security_log = logging.getLogger("stepdown.security")

PAYER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# ApplyPayerDecision.delivery_id allows 128 characters; printable ASCII keeps logs clean.
DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,128}")
KEPT_HEADERS = ("content-type", "stepdown-signature", "stepdown-delivery", "user-agent")


async def verified_webhook(
    request: Request,
    deps: Deps,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias="Stepdown-Signature")] = None,
    delivery: Annotated[str | None, Header(alias="Stepdown-Delivery")] = None,
) -> SignedDelivery:
    payer_id: str = request.path_params["payer_id"]
    body = await request.body()
    # The directory names the payer's secrets (current and previous); see payers.credentials.
    known = bool(PAYER_ID.fullmatch(payer_id)) and deps.payers is not None
    entry = await blocking(deps.directory().get, payer_id) if known else None
    try:
        fingerprint = verify(
            signature,
            body,
            webhook_secrets(entry, payer_id, settings),
            int(deps.clock().timestamp()),
            settings.webhook_tolerance_seconds,
        )
    except SignatureError as err:
        client = request.client.host if request.client else "?"
        security_log.warning(
            "webhook refused: payer=%r from=%s reason=%s", payer_id[:64], client, err.reason
        )
        deps.metrics.inc("stepdown_webhook_deliveries_total", status="unauthorized")
        raise bad_signature(settings.webhook_tolerance_seconds) from None
    request.state.payer_id = payer_id
    _check_ids(payer_id, delivery)
    assert delivery is not None
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    # The inbox keeps 200 characters; the media type comes first, parameters after.
    content_type = request.headers.get("content-type", "")[:200]
    return SignedDelivery(payer_id, delivery, content_type, headers, body, fingerprint)


def bad_signature(tolerance: int) -> ApiProblem:
    detail = (
        "Stepdown-Signature does not verify: send t=<unix seconds>,v1=<hex HMAC-SHA256 of "
        f'"<t>.<raw body>" with your current secret>, with t within {tolerance} s of now'
    )
    return ApiProblem(401, "invalid_signature", detail)


def _check_ids(payer_id: str, delivery: str | None) -> None:
    items = []
    if not PAYER_ID.fullmatch(payer_id):
        items.append(
            ProblemItem(
                detail="payer_id: 1–64 letters, digits, '.', '_' or '-'", parameter="payer_id"
            )
        )
    if delivery is None or not DELIVERY_ID.fullmatch(delivery):
        items.append(
            ProblemItem(
                detail="Stepdown-Delivery: a unique id of 1–128 printable characters is required",
                parameter="Stepdown-Delivery",
            )
        )
    if items:
        detail = "; ".join(item.detail for item in items)
        raise ApiProblem(422, "invalid_input", detail, errors=items)


VerifiedWebhook = Annotated[SignedDelivery, Depends(verified_webhook)]

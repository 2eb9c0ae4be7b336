"""Payer webhooks as a payer sends them: a decision rendered in each format, and its signature."""

from __future__ import annotations

import time
from typing import Any

from domain.model import PayerDecision
from payers.formats.examples import canonical_body, pas_body, x12_body
from payers.signature import sign

DEFAULT_SECRET = "whsec-default"
SECRETS = {"*": [DEFAULT_SECRET], "rotating-payer": ["whsec-old", "whsec-new"]}
RENDER = {
    "json": ("application/json", canonical_body),
    "fhir": ("application/fhir+json", pas_body),
    "x12": ("application/edi-x12", x12_body),
}


def decision_body(trace: str, action: str, fmt: str = "json", **fields: Any) -> tuple[bytes, str]:
    decision = PayerDecision.model_validate({"trace_number": trace, "action": action, **fields})
    content_type, render = RENDER[fmt]
    return render(decision), content_type


def signature(body: bytes, secret: str = DEFAULT_SECRET, at: float | None = None) -> str:
    return sign(secret, body, int(time.time() if at is None else at))

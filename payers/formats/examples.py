"""Realistic payer decisions for one IOP step-down, and the builders that render them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.model import PayerDecision
from payers.formats.canonical import canonical_body
from payers.formats.pas_render import pas_body
from payers.formats.x12_render import x12_body

__all__ = ["EXAMPLES", "canonical_body", "pas_body", "x12_body"]

TRACE = "SD-ep-2026-0001-1"
DECIDED = datetime(2026, 11, 20, 14, 5, 0, tzinfo=UTC)

APPROVE = PayerDecision(
    trace_number=TRACE,
    action="A1",
    authorization_number="ACME-IOP-558201",
    start=date(2026, 11, 23),
    end=date(2026, 12, 20),
    units=20,
    unit_type="days",
    service_codes=("S9480", "0905"),
    decided_at=DECIDED,
)
# Fewer days than the 20 requested, ending a week earlier.
PARTIAL = APPROVE.model_copy(update={"action": "A2", "end": date(2026, 12, 11), "units": 12})
# The payer approved substance-use IOP sessions (H0015) instead of psychiatric IOP days.
MODIFIED = APPROVE.model_copy(
    update={
        "action": "A6",
        "units": 12,
        "unit_type": "sessions",
        "service_codes": ("H0015", "0906"),
        "reason": "Certified as substance use IOP, 3 sessions a week for 4 weeks.",
    }
)
DENY = PayerDecision(
    trace_number=TRACE,
    action="A3",
    # Code list 886 (HCR03) is licensed by X12; this value is illustrative only.
    reason_code="0F",
    reason="Documentation does not support IOP; ASAM dimension 5 rated 1.",
    decided_at=DECIDED,
)
PEND = PayerDecision(
    trace_number=TRACE,
    action="A4",
    reference="PEND-20261120-0042",
    reason="Awaiting the PHP discharge summary.",
    decided_at=DECIDED,
)
CANCEL = PayerDecision(
    trace_number=TRACE,
    action="C",
    authorization_number="ACME-IOP-558201",
    decided_at=DECIDED,
)

EXAMPLES: dict[str, PayerDecision] = {
    "approve": APPROVE,
    "partial": PARTIAL,
    "modified": MODIFIED,
    "deny": DENY,
    "pend": PEND,
    "cancel": CANCEL,
}

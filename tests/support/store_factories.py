"""Builders of the shapes the store keeps, with uuid ids so tests never share rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.model import Claim, ClaimLine, HoldReason
from domain.views import ClaimView, EpisodeSummary, StoredEvent, WorklistItem

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def new_id(prefix: str = "ep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def summary(episode_id: str | None = None, **fields: Any) -> EpisodeSummary:
    values: dict[str, Any] = {
        "episode_id": episode_id or new_id(),
        "state": "auth_requested",
        "payer_id": "acme-medicaid",
        "plan_type": "medicaid_managed_care",
        "trace_number": new_id("SD"),
        "next_deadline": None,
        "authorization_end": None,
        "held_claims": 0,
        "version": 1,
        "opened_at": T0,
        "updated_at": T0,
    }
    return EpisodeSummary(**(values | fields))


def events(*seqs: int, start: datetime = T0) -> list[StoredEvent]:
    return [
        StoredEvent(
            seq=seq,
            type="EpisodeOpened" if seq == 1 else "Noted",
            at=start + timedelta(minutes=seq),
            data={"seq": seq, "nested": {"codes": ["S9480"], "units": seq * 2}},
        )
        for seq in seqs
    ]


def item(episode_id: str, kind: str, due: datetime | None, detail: str = "") -> WorklistItem:
    return WorklistItem.model_validate(
        {"episode_id": episode_id, "kind": kind, "due": due, "detail": detail or kind}
    )


def held_claim(claim_id: str = "C-2026-11", through: date = date(2026, 11, 30)) -> ClaimView:
    reason = HoldReason(code="no_authorization", detail="no active authorization", lines=("S-1",))
    return ClaimView(claim_id=claim_id, status="held", through=through, reasons=[reason])


def released_claim(claim_id: str = "C-2026-11", through: date = date(2026, 11, 30)) -> ClaimView:
    line = ClaimLine(
        service_id="S-1",
        revenue_code="0905",
        hcpcs="S9480",
        modifiers=(),
        date=date(2026, 11, 24),
        units=1,
        charge=Decimal("80.00"),
    )
    claim = Claim(
        type_of_bill="0131",
        condition_codes=("41",),
        patient_status="30",
        from_=date(2026, 11, 23),
        through=through,
        lines=(line,),
    )
    return ClaimView(claim_id=claim_id, status="released", through=through, claim=claim)

"""The claims outbox's shapes: a released claim on its way out, and the batches it goes in."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.model import Claim

# queued (released, waiting for a batch) → batched (in a cut 837I) → sent (put to the
# clearinghouse) → accepted / rejected (its acknowledgement). A claim the 837I cannot carry
# (a delimiter in its data) is rejected before any batch, with the reason in `error`.
OutboxStatus = Literal["queued", "batched", "sent", "accepted", "rejected"]
BatchStatus = Literal["batched", "sent", "accepted", "rejected"]
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = ("queued", "batched", "sent", "accepted", "rejected")


class OutboxEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_id: str
    claim_id: str
    control_number: str
    payer_id: str
    status: OutboxStatus
    claim: Claim
    released_at: datetime
    batch_id: str | None = None
    error: str | None = None
    updated_at: datetime


class ClaimBatch(BaseModel):
    """One 837I interchange; its control numbers are never handed out again."""

    model_config = ConfigDict(frozen=True)

    batch_id: str
    status: BatchStatus
    interchange_control: int
    group_control: int
    transaction_control: int
    claim_count: int
    file_name: str
    created_at: datetime
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    error: str | None = None
    claims: list[OutboxEntry] = []


class BatchFile(BaseModel):
    """What a sender puts to the clearinghouse for one batch."""

    model_config = ConfigDict(frozen=True)

    batch_id: str
    file_name: str
    x12: str


class UnknownBatch(LookupError):
    """A batch id this outbox never cut."""


class BatchStateConflict(ValueError):
    """An acknowledgement for a batch that is not (or no longer) waiting for one."""

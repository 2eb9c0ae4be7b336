"""The submissions log's port: every outbound payer submission, its exact payload and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

# sending: stored before the call, so a crash mid-call leaves a trace; answered: the payer's
# synchronous answer is stored (and its decision is in the webhook inbox); accepted: taken,
# the answer comes later; awaiting_webhook: a webhook-only payer, nothing was sent;
# failed: the payer refused the request.
SubmissionStatus = Literal["sending", "answered", "accepted", "awaiting_webhook", "failed"]


class Submission(BaseModel):
    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    episode_id: str
    payer_id: str
    trace_number: str
    # initial, extension, reversal, p2p, or inquiry (a PAS $inquire about a pended request).
    purpose: str
    channel: str
    status: SubmissionStatus
    content_type: str | None = None
    payload: str | None = None
    response_status: int | None = None
    response: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class NewSubmission(BaseModel):
    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    episode_id: str
    payer_id: str
    trace_number: str
    purpose: str
    channel: str
    status: SubmissionStatus = "sending"
    content_type: str | None = None
    payload: str | None = None


class SubmissionLog(Protocol):
    def start(self, new: NewSubmission, at: datetime) -> tuple[Submission, bool]:
        """Stores `new` unless its idempotency key is stored; the stored row, True if new."""
        ...

    def finish(
        self,
        idempotency_key: str,
        status: SubmissionStatus,
        at: datetime,
        *,
        response_status: int | None = None,
        response: str | None = None,
        error: str | None = None,
    ) -> Submission: ...

    def get(self, idempotency_key: str) -> Submission | None: ...

    def for_episode(self, episode_id: str) -> list[Submission]:
        """Oldest first."""
        ...

"""In-memory payer directory and submissions log, for the contract suite and gateway unit tests."""

from __future__ import annotations

import threading
from datetime import datetime

from activities.ports import PayerReceipt, PayerRequest
from store.payers import PayerEntry, PayerSettings
from store.submissions import NewSubmission, Submission, SubmissionStatus


class InMemoryPayerDirectory:
    def __init__(self, *entries: tuple[str, PayerSettings]) -> None:
        self._lock = threading.Lock()
        self._payers: dict[str, PayerEntry] = {}
        for payer_id, settings in entries:
            self.put(payer_id, settings, datetime.fromisoformat("2026-01-01T00:00:00+00:00"))

    def get(self, payer_id: str) -> PayerEntry | None:
        with self._lock:
            return self._payers.get(payer_id)

    def put(self, payer_id: str, settings: PayerSettings, at: datetime) -> tuple[PayerEntry, bool]:
        with self._lock:
            known = self._payers.get(payer_id)
            created_at = known.created_at if known else at
            entry = PayerEntry(
                payer_id=payer_id, created_at=created_at, updated_at=at, **dict(settings)
            )
            self._payers[payer_id] = entry
            return entry, known is None

    def list(self) -> list[PayerEntry]:
        with self._lock:
            return [self._payers[key] for key in sorted(self._payers)]


class InMemorySubmissionLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, Submission] = {}

    def start(self, new: NewSubmission, at: datetime) -> tuple[Submission, bool]:
        with self._lock:
            if new.idempotency_key in self._rows:
                return self._rows[new.idempotency_key], False
            row = Submission(**new.model_dump(), created_at=at, updated_at=at)
            self._rows[new.idempotency_key] = row
            return row, True

    def finish(
        self,
        idempotency_key: str,
        status: SubmissionStatus,
        at: datetime,
        *,
        response_status: int | None = None,
        response: str | None = None,
        error: str | None = None,
    ) -> Submission:
        with self._lock:
            row = self._rows.get(idempotency_key)
            if row is None:
                raise LookupError(f"no submission {idempotency_key}")
            changes: dict[str, object] = {"status": status, "updated_at": at, "error": error}
            if response_status is not None:
                changes["response_status"] = response_status
            if response is not None:
                changes["response"] = response
            row = self._rows[idempotency_key] = row.model_copy(update=changes)
            return row

    def get(self, idempotency_key: str) -> Submission | None:
        with self._lock:
            return self._rows.get(idempotency_key)

    def for_episode(self, episode_id: str) -> list[Submission]:
        with self._lock:
            rows = [row for row in self._rows.values() if row.episode_id == episode_id]
        return sorted(rows, key=lambda row: row.created_at)


class RecordingOutboundGateway:
    """Keeps each submission once per idempotency key and accepts it.

    Stands in for a payer connection that has no synchronous answer: the payer decides
    later and calls the signed webhook, as real payers do in production.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._submitted: dict[str, PayerRequest] = {}

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        with self._lock:
            duplicate = request.idempotency_key in self._submitted
            self._submitted.setdefault(request.idempotency_key, request)
        return PayerReceipt(trace_number=request.trace_number, accepted=True, duplicate=duplicate)

    @property
    def submitted(self) -> list[PayerRequest]:
        with self._lock:
            return list(self._submitted.values())

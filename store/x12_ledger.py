"""The X12 ledger: control numbers, every 278 request as written, every 999/TA1 received.

Persisted so that no interchange control number is handed out twice, a retried submission
writes the same bytes under the same name, and an acknowledgement always finds the trace
number and episode of the file it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, and_, or_, select, update

from payers.formats.x12_ack import Acknowledgement
from payers.formats.x12_write import MAX_CONTROL_NUMBER
from store.db import dialect_insert, session_factory
from store.phi import BODY_MAGIC, PhiCipher, UnreadablePhi
from store.schema import X12AcknowledgementRow, X12SubmissionRow
from store.sequences import next_value

# The interchange (ISA13) sequence, shared with the 837I batches (store/sql_claims.py).
INTERCHANGES = "x12_isa"


class X12Submission(BaseModel):
    """One 278 request: the file it went out as, its control number and its exact bytes."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    idempotency_key: str
    file_name: str
    control_number: int
    episode_id: str
    payer_id: str
    trace_number: str
    purpose: str
    body: bytes
    created_at: datetime
    written_at: datetime | None = None


class RecordedAcknowledgement(BaseModel):
    """A 999/TA1 as kept: its verdict, and which submission of ours it answers (if any)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    delivery_id: str
    kind: str
    functional_id: str | None
    control_number: int
    code: str
    accepted: bool
    reason: str
    detail: dict[str, Any]
    episode_id: str | None
    trace_number: str | None
    purpose: str | None
    received_at: datetime
    reported_at: datetime | None


class SubmissionRejection(BaseModel):
    """A 278 the clearinghouse rejected: what becomes the episode's `submission_failed`."""

    model_config = ConfigDict(frozen=True)

    acknowledgement_id: int
    episode_id: str
    trace_number: str
    purpose: str
    reason: str


class X12Ledger(Protocol):
    def next_control_number(self, counter: str = INTERCHANGES) -> int: ...

    def submission(self, idempotency_key: str) -> X12Submission | None: ...

    def reserve(
        self, submission: X12Submission, build: Callable[[int], bytes]
    ) -> X12Submission: ...

    def mark_written(self, idempotency_key: str, at: datetime) -> None: ...

    def submission_for_control(self, control_number: int) -> X12Submission | None: ...

    def submission_for_trace(self, trace_number: str) -> X12Submission | None: ...

    def record_acknowledgement(
        self, delivery_id: str, ack: Acknowledgement, received_at: datetime
    ) -> tuple[RecordedAcknowledgement, bool]: ...

    def unreported_rejections(self, limit: int = 100) -> list[SubmissionRejection]: ...

    def mark_rejection_reported(self, acknowledgement_id: int, at: datetime) -> None: ...

    def unreported_batch_rejections(self, limit: int = 100) -> list[RecordedAcknowledgement]: ...

    def acknowledgements(self, episode_id: str) -> list[RecordedAcknowledgement]: ...


# The AES-GCM purpose of a sealed 278 file (store/phi.py).
BODY_PURPOSE = "x12_submissions.body"


class SqlX12Ledger:
    """Each 278 names the patient and member id: `body` is sealed at rest with `cipher`."""

    def __init__(self, engine: Engine, cipher: PhiCipher | None = None) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)
        self._cipher = cipher

    def next_control_number(self, counter: str = INTERCHANGES) -> int:
        """The next number of `counter`, 1 … 999999999, never handed out before.

        Interchanges draw from the same named sequence as the 837I batches
        (store/sequences.py), so a 278 and an 837 to the same clearinghouse never share an
        ISA13: a clearinghouse rejects a repeated interchange control number.
        """
        with self._sessions.begin() as session:
            value = next_value(session, self._insert, counter)
        if value > MAX_CONTROL_NUMBER:
            raise OverflowError(f"the {counter} control numbers are used up (ISA13 has 9 digits)")
        return value

    def submission(self, idempotency_key: str) -> X12Submission | None:
        return self._one(X12SubmissionRow.idempotency_key == idempotency_key)

    def reserve(self, submission: X12Submission, build: Callable[[int], bytes]) -> X12Submission:
        """The stored submission of this idempotency key, creating it when there is none.

        `build(control_number)` renders the file; a concurrent reserve of the same key
        wastes at most one control number (gaps are allowed, repeats are not).
        """
        found = self.submission(submission.idempotency_key)
        if found is not None:
            return found
        control_number = self.next_control_number()
        body = build(control_number)
        if self._cipher is not None:
            body = self._cipher.seal_bytes(body, BODY_PURPOSE)
        row = submission.model_copy(update={"control_number": control_number, "body": body})
        stmt = (
            self._insert(X12SubmissionRow)
            .values(**row.model_dump())
            .on_conflict_do_nothing(index_elements=[X12SubmissionRow.idempotency_key])
        )
        with self._sessions.begin() as session:
            session.execute(stmt)
        stored = self.submission(submission.idempotency_key)
        assert stored is not None
        return stored

    def mark_written(self, idempotency_key: str, at: datetime) -> None:
        stmt = (
            update(X12SubmissionRow)
            .where(X12SubmissionRow.idempotency_key == idempotency_key)
            .where(X12SubmissionRow.written_at.is_(None))
            .values(written_at=at)
        )
        with self._sessions.begin() as session:
            session.execute(stmt)

    def submission_for_control(self, control_number: int) -> X12Submission | None:
        return self._one(X12SubmissionRow.control_number == control_number)

    def submission_for_trace(self, trace_number: str) -> X12Submission | None:
        return self._one(X12SubmissionRow.trace_number == trace_number)

    def _one(self, condition: Any) -> X12Submission | None:
        query = select(X12SubmissionRow).where(condition).order_by(X12SubmissionRow.id.desc())
        with self._sessions.begin() as session:
            row = session.scalars(query.limit(1)).first()
            if row is None:
                return None
            found = X12Submission.model_validate(row)
        return found.model_copy(update={"body": self._open(found.body)})

    def _open(self, body: bytes) -> bytes:
        if not body.startswith(BODY_MAGIC):
            return body
        if self._cipher is None:
            raise UnreadablePhi("the X12 ledger holds sealed files but no payload key is set")
        return self._cipher.open_bytes(body, BODY_PURPOSE)

    def record_acknowledgement(
        self, delivery_id: str, ack: Acknowledgement, received_at: datetime
    ) -> tuple[RecordedAcknowledgement, bool]:
        """Keeps `ack` once per delivery id, matched to the submission it answers."""
        answered = self._answered(ack)
        values = {
            "delivery_id": delivery_id,
            "kind": ack.kind,
            "functional_id": ack.functional_id,
            "control_number": ack.control_number,
            "code": ack.code,
            "accepted": ack.accepted,
            "reason": ack.reason(),
            "detail": ack.model_dump(mode="json"),
            "episode_id": answered.episode_id if answered else None,
            "trace_number": answered.trace_number if answered else None,
            "purpose": answered.purpose if answered else None,
            "received_at": received_at,
        }
        stmt = (
            self._insert(X12AcknowledgementRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[X12AcknowledgementRow.delivery_id])
            .returning(X12AcknowledgementRow.id)
        )
        query = select(X12AcknowledgementRow).where(
            X12AcknowledgementRow.delivery_id == delivery_id
        )
        with self._sessions.begin() as session:
            fresh = session.execute(stmt).first() is not None
            row = session.scalars(query).one()
            return RecordedAcknowledgement.model_validate(row), fresh

    def _answered(self, ack: Acknowledgement) -> X12Submission | None:
        # A 999 for another functional group (HC: an 837 batch) is not about a 278.
        if ack.kind == "999" and ack.functional_id != "HI":
            return None
        return self.submission_for_control(ack.control_number)

    def unreported_rejections(self, limit: int = 100) -> list[SubmissionRejection]:
        """Rejected 278s whose episode has not yet been told, oldest first."""
        query = (
            select(X12AcknowledgementRow)
            .where(X12AcknowledgementRow.accepted.is_(False))
            .where(X12AcknowledgementRow.episode_id.is_not(None))
            .where(X12AcknowledgementRow.reported_at.is_(None))
            .order_by(X12AcknowledgementRow.id)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return [_rejection(row) for row in session.scalars(query)]

    def unreported_batch_rejections(self, limit: int = 100) -> list[RecordedAcknowledgement]:
        """Rejecting 999s for an 837 group (AK101 HC) and TA1s that answer no 278 of ours,
        not yet reported to the episodes of the claims they reject, oldest first."""
        about_claims = or_(
            and_(X12AcknowledgementRow.kind == "999", X12AcknowledgementRow.functional_id == "HC"),
            X12AcknowledgementRow.kind == "TA1",
        )
        query = (
            select(X12AcknowledgementRow)
            .where(X12AcknowledgementRow.accepted.is_(False))
            .where(X12AcknowledgementRow.episode_id.is_(None))
            .where(X12AcknowledgementRow.reported_at.is_(None))
            .where(about_claims)
            .order_by(X12AcknowledgementRow.id)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return [RecordedAcknowledgement.model_validate(r) for r in session.scalars(query)]

    def mark_rejection_reported(self, acknowledgement_id: int, at: datetime) -> None:
        stmt = (
            update(X12AcknowledgementRow)
            .where(X12AcknowledgementRow.id == acknowledgement_id)
            .where(X12AcknowledgementRow.reported_at.is_(None))
            .values(reported_at=at)
        )
        with self._sessions.begin() as session:
            session.execute(stmt)

    def acknowledgements(self, episode_id: str) -> list[RecordedAcknowledgement]:
        query = (
            select(X12AcknowledgementRow)
            .where(X12AcknowledgementRow.episode_id == episode_id)
            .order_by(X12AcknowledgementRow.id)
        )
        with self._sessions.begin() as session:
            return [RecordedAcknowledgement.model_validate(r) for r in session.scalars(query)]


def _rejection(row: X12AcknowledgementRow) -> SubmissionRejection:
    assert row.episode_id and row.trace_number and row.purpose
    return SubmissionRejection(
        acknowledgement_id=row.id,
        episode_id=row.episode_id,
        trace_number=row.trace_number,
        purpose=row.purpose,
        reason=row.reason,
    )

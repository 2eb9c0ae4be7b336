"""The claims outbox in SQL: its reads, and batches cut under persisted control numbers,
marked sent and acknowledged (store/claims_queue.py queues claims with their projection)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from domain.model import Claim, Clinician, Patient, Payer
from payers.formats.x12_837i import (
    BilledClaim,
    ControlNumbers,
    Submitter,
    check_claim,
    render_837i,
)
from store.claims import (
    BatchFile,
    BatchStateConflict,
    BatchStatus,
    ClaimBatch,
    OutboxEntry,
    OutboxStatus,
    UnknownBatch,
)
from store.claims_queue import X12_PURPOSE, episode_billing, open_billing, queue_claim
from store.db import dialect_insert, session_factory
from store.phi import TEXT_MAGIC, PhiCipher, UnreadablePhi
from store.schema import ClaimBatchRow, ClaimOutboxRow
from store.sequences import next_value

# Sequences a batch takes one value of each: its id and its ISA13, GS06 and ST02.
# ISA13 comes from the sequence the 278 requests share (store/x12_ledger.INTERCHANGES); a
# batch is one functional group per interchange, so GS06 repeats it.
SEQUENCES = ("claim_batch", "x12_isa", "x12_st")
MAX_CONTROL = 999_999_999


class SqlClaimBatches:
    """The outbox's reads and its batch lifecycle; every call is one short transaction."""

    def __init__(
        self,
        engine: Engine,
        send_lease: timedelta = timedelta(minutes=5),
        cipher: PhiCipher | None = None,
    ) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)
        self._lease = send_lease
        # Opens the stored patient (sealed at rest, store/phi.py) and seals the outbox's
        # billing and each batch's 837I file with the payload keyring.
        self._cipher = cipher

    # ---- reads ------------------------------------------------------------------------

    def outbox(
        self, status: OutboxStatus | None = None, episode_id: str | None = None, limit: int = 200
    ) -> list[OutboxEntry]:
        query = select(ClaimOutboxRow)
        if status is not None:
            query = query.where(ClaimOutboxRow.status == status)
        if episode_id is not None:
            query = query.where(ClaimOutboxRow.episode_id == episode_id)
        order = (ClaimOutboxRow.released_at, ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id)
        with self._sessions.begin() as session:
            return [_entry(row) for row in session.scalars(query.order_by(*order).limit(limit))]

    def _file(self, row: ClaimBatchRow) -> BatchFile:
        x12 = row.x12 if self._cipher is None else self._cipher.open_text(row.x12, X12_PURPOSE)
        if x12.startswith(TEXT_MAGIC):
            raise UnreadablePhi(f"batch {row.batch_id} is sealed but no payload key is set")
        return BatchFile(batch_id=row.batch_id, file_name=row.file_name, x12=x12)

    def batch(self, batch_id: str) -> ClaimBatch:
        with self._sessions.begin() as session:
            return _batch(session, self._get(session, batch_id))

    def batches(self, limit: int = 50) -> list[ClaimBatch]:
        query = select(ClaimBatchRow).order_by(ClaimBatchRow.interchange_control.desc())
        with self._sessions.begin() as session:
            return [
                _batch(session, row, with_claims=False)
                for row in session.scalars(query.limit(limit))
            ]

    def batch_file(self, batch_id: str) -> BatchFile:
        with self._sessions.begin() as session:
            return self._file(self._get(session, batch_id))

    def batch_for_group(self, group_control: int) -> ClaimBatch | None:
        """The batch a 999 acknowledges: its AK1 names the GS06 group control number."""
        query = select(ClaimBatchRow).where(ClaimBatchRow.group_control == group_control)
        with self._sessions.begin() as session:
            row = session.scalars(query).first()
            return None if row is None else _batch(session, row)

    def batch_for_interchange(self, interchange_control: int) -> ClaimBatch | None:
        """The batch a TA1 acknowledges: it names the ISA13 interchange control number."""
        query = select(ClaimBatchRow).where(
            ClaimBatchRow.interchange_control == interchange_control
        )
        with self._sessions.begin() as session:
            row = session.scalars(query).first()
            return None if row is None else _batch(session, row)

    def requeue_rejected(self, episode_id: str, claim_id: str, now: datetime) -> bool:
        """A claim of a batch the clearinghouse rejected goes back to `queued` (ops retried its
        delivery), to go out in the next batch; True when it moved. Any other claim stays."""
        stmt = (
            update(ClaimOutboxRow)
            .where(ClaimOutboxRow.episode_id == episode_id, ClaimOutboxRow.claim_id == claim_id)
            .where(ClaimOutboxRow.status == "rejected", ClaimOutboxRow.batch_id.is_not(None))
            .values(status="queued", batch_id=None, error=None, updated_at=now)
        )
        with self._sessions.begin() as session:
            return _rowcount(session.execute(stmt)) == 1

    def ensure_queued(self, episode_id: str, claim_id: str, claim: Claim, now: datetime) -> bool:
        """Queue a released claim unless it is already in the outbox; True when it was not.

        The projection queues every claim it stores; this is the same write for a claim
        whose `claim_released` was projected without one (by a worker from before the
        outbox existed), so a rolling upgrade loses nothing either.
        """
        with self._sessions.begin() as session:
            billing = episode_billing(session, episode_id, self._cipher)
            return (
                queue_claim(
                    session, self._insert, episode_id, claim_id, claim, now, billing, self._cipher
                )
                == 1
            )

    # ---- cutting a batch ----------------------------------------------------------------

    def cut(
        self,
        submitter: Submitter,
        now: datetime,
        max_claims: int = 500,
        payer_id: str | None = None,
    ) -> ClaimBatch | None:
        """Every queued claim (oldest first, up to `max_claims`) in one new 837I batch, or
        None when nothing is queued. Concurrent cuts never share a claim or a number: the
        sequences' row locks serialize them, and a claim moves only from `queued`."""
        if not self._anything_queued(payer_id):
            return None  # a quiet schedule tick takes no transaction and burns no number
        with self._sessions.begin() as session:
            batch_no, interchange, transaction = (
                next_value(session, self._insert, name) for name in SEQUENCES
            )
            numbers = [batch_no, interchange, interchange, transaction]
            rows = self._queued(session, max_claims, payer_id)
            sendable = [row for row in rows if _sendable(row, now, self._cipher)]
            if not sendable:
                return None
            batch = _new_batch(numbers, sendable, submitter, now, self._cipher)
            for row in sendable:
                _move(session, row, "queued", "batched", now, batch_id=batch.batch_id)
            session.add(batch)
            session.flush()
            return _batch(session, batch)

    def _anything_queued(self, payer_id: str | None) -> bool:
        query = select(ClaimOutboxRow.claim_id).where(ClaimOutboxRow.status == "queued")
        if payer_id is not None:
            query = query.where(ClaimOutboxRow.payer_id == payer_id)
        with self._sessions.begin() as session:
            return session.scalars(query.limit(1)).first() is not None

    def _queued(self, session: Session, limit: int, payer_id: str | None) -> list[ClaimOutboxRow]:
        query = select(ClaimOutboxRow).where(ClaimOutboxRow.status == "queued")
        if payer_id is not None:
            query = query.where(ClaimOutboxRow.payer_id == payer_id)
        order = (ClaimOutboxRow.released_at, ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id)
        return list(session.scalars(query.order_by(*order).limit(limit)))

    # ---- sending and acknowledging -------------------------------------------------------

    def take_for_sending(self, now: datetime) -> list[BatchFile]:
        """Batches cut but not yet sent, each leased to this caller so that two senders do
        not put the same file at once; a lease left by a crashed sender lapses."""
        lapsed = now - self._lease
        free = or_(ClaimBatchRow.send_started_at.is_(None), ClaimBatchRow.send_started_at < lapsed)
        waiting = and_(ClaimBatchRow.status == "batched", free)
        taken = []
        with self._sessions.begin() as session:
            query = select(ClaimBatchRow).where(waiting).order_by(ClaimBatchRow.interchange_control)
            for row in session.scalars(query).all():
                lease = update(ClaimBatchRow).where(ClaimBatchRow.batch_id == row.batch_id, waiting)
                if _rowcount(session.execute(lease.values(send_started_at=now))) == 1:
                    taken.append(self._file(row))
        return taken

    def mark_sent(self, batch_id: str, now: datetime) -> None:
        with self._sessions.begin() as session:
            row = self._get(session, batch_id)
            if row.status != "batched":
                return  # another sender finished first; sent stays sent
            row.status, row.sent_at, row.send_started_at, row.error = "sent", now, None, None
            _move_batch_claims(session, batch_id, "batched", "sent", now)

    def send_failed(self, batch_id: str, error: str) -> None:
        """The put failed: free the lease so the next pass tries again."""
        with self._sessions.begin() as session:
            row = self._get(session, batch_id)
            row.send_started_at, row.error = None, error[:2000]

    def acknowledge(
        self, batch_id: str, accepted: bool, now: datetime, error: str | None = None
    ) -> ClaimBatch:
        """The clearinghouse's answer (999) for a sent batch: every claim in it follows."""
        status: BatchStatus = "accepted" if accepted else "rejected"
        with self._sessions.begin() as session:
            row = self._get(session, batch_id)
            if row.status == status:
                return _batch(session, row)  # the same acknowledgement again
            if row.status != "sent":
                raise BatchStateConflict(
                    f"batch {batch_id} is {row.status}; only a sent batch can be acknowledged"
                )
            row.status, row.acknowledged_at, row.error = status, now, error
            _move_batch_claims(session, batch_id, "sent", status, now, error=error)
            return _batch(session, row)

    def _get(self, session: Session, batch_id: str) -> ClaimBatchRow:
        row = session.get(ClaimBatchRow, batch_id)
        if row is None:
            raise UnknownBatch(batch_id)
        return row


def _sendable(row: ClaimOutboxRow, now: datetime, cipher: PhiCipher | None) -> bool:
    """A claim the 837I cannot carry is rejected here, so it never blocks a batch."""
    try:
        check_claim(_billed(row, cipher))
    except ValueError as err:
        row.status, row.error, row.updated_at = "rejected", f"cannot be sent as 837I: {err}", now
        return False
    return True


def _new_batch(
    numbers: list[int],
    rows: list[ClaimOutboxRow],
    submitter: Submitter,
    now: datetime,
    cipher: PhiCipher | None,
) -> ClaimBatchRow:
    serial, isa, gs, st = numbers
    if max(numbers) > MAX_CONTROL:
        raise OverflowError("X12 control numbers are exhausted (nine digits)")
    batch_id = f"CB{serial:07d}"
    control = ControlNumbers(interchange=isa, group=gs, transaction=st)
    text = render_837i([_billed(row, cipher) for row in rows], submitter, control, batch_id, now)
    return ClaimBatchRow(
        batch_id=batch_id,
        interchange_control=isa,
        group_control=gs,
        transaction_control=st,
        status="batched",
        claim_count=len(rows),
        file_name=f"837I-{batch_id}-{isa:09d}.x12",
        # The 837I names patients, member ids and diagnoses: sealed at rest (store/phi.py).
        x12=text if cipher is None else cipher.seal_text(text, X12_PURPOSE),
        created_at=now,
    )


def _move(
    session: Session, row: ClaimOutboxRow, from_: str, to: str, now: datetime, **values: Any
) -> None:
    stmt = (
        update(ClaimOutboxRow)
        .where(
            ClaimOutboxRow.episode_id == row.episode_id,
            ClaimOutboxRow.claim_id == row.claim_id,
            ClaimOutboxRow.status == from_,
        )
        .values(status=to, updated_at=now, **values)
    )
    if _rowcount(session.execute(stmt)) != 1:
        # Cannot happen while the sequences serialize cuts; never let a claim go twice.
        raise RuntimeError(f"claim {row.claim_id} of {row.episode_id} left {from_} meanwhile")


def _move_batch_claims(
    session: Session, batch_id: str, from_: str, to: str, now: datetime, error: str | None = None
) -> None:
    session.execute(
        update(ClaimOutboxRow)
        .where(ClaimOutboxRow.batch_id == batch_id, ClaimOutboxRow.status == from_)
        .values(status=to, updated_at=now, error=error)
    )


def _billed(row: ClaimOutboxRow, cipher: PhiCipher | None) -> BilledClaim:
    billing = open_billing(cipher, row.billing)
    return BilledClaim(
        episode_id=row.episode_id,
        claim_id=row.claim_id,
        claim=Claim.model_validate(row.claim),
        patient=Patient.model_validate(billing["patient"]),
        payer=Payer.model_validate(billing["payer"]),
        diagnoses=tuple(billing["diagnoses"]),
        attending=_clinician(billing.get("attending")),
    )


def _clinician(stored: Any) -> Clinician | None:
    return None if stored is None else Clinician.model_validate(stored)


def _entry(row: ClaimOutboxRow) -> OutboxEntry:
    return OutboxEntry(
        episode_id=row.episode_id,
        claim_id=row.claim_id,
        control_number=row.control_number,
        payer_id=row.payer_id,
        status=row.status,
        claim=Claim.model_validate(row.claim),
        released_at=row.released_at,
        batch_id=row.batch_id,
        error=row.error,
        updated_at=row.updated_at,
    )


def _batch(session: Session, row: ClaimBatchRow, with_claims: bool = True) -> ClaimBatch:
    claims: list[OutboxEntry] = []
    if with_claims:
        query = (
            select(ClaimOutboxRow)
            .where(ClaimOutboxRow.batch_id == row.batch_id)
            .order_by(
                ClaimOutboxRow.released_at, ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id
            )
        )
        claims = [_entry(claim) for claim in session.scalars(query)]
    return ClaimBatch(
        batch_id=row.batch_id,
        status=row.status,
        interchange_control=row.interchange_control,
        group_control=row.group_control,
        transaction_control=row.transaction_control,
        claim_count=row.claim_count,
        file_name=row.file_name,
        created_at=row.created_at,
        sent_at=row.sent_at,
        acknowledged_at=row.acknowledged_at,
        error=row.error,
        claims=claims,
    )


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (an UPDATE's result is a CursorResult, which counts them)."""
    count: int = result.rowcount
    return count

"""SQL adapters of the payer directory and the submissions log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from store.db import dialect_insert, session_factory
from store.payers import PasEndpoint, PayerEntry, PayerSettings
from store.phi import TEXT_MAGIC, PhiCipher, UnreadablePhi
from store.schema import PayerRow, SubmissionRow
from store.submissions import NewSubmission, Submission, SubmissionStatus

PAS_COLUMNS = {
    "base_url": "pas_base_url",
    "token_url": "pas_token_url",
    "client_id": "pas_client_id",
    "private_key": "pas_private_key",
    "key_id": "pas_key_id",
    "algorithm": "pas_algorithm",
    "scope": "pas_scope",
}


def payer_entry(row: PayerRow) -> PayerEntry:
    pas = None
    if row.pas_base_url is not None:
        pas = PasEndpoint.model_validate(
            {field: getattr(row, column) for field, column in PAS_COLUMNS.items()}
        )
    return PayerEntry(
        payer_id=row.payer_id,
        display_name=row.display_name,
        plan_type=row.plan_type,  # type: ignore[arg-type]
        channel=row.channel,  # type: ignore[arg-type]
        pas=pas,
        webhook_secrets=list(row.webhook_secrets),
        clearinghouse_mailbox=row.clearinghouse_mailbox,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _payer_values(settings: PayerSettings) -> dict[str, Any]:
    pas = settings.pas.model_dump() if settings.pas else {}
    return {
        "display_name": settings.display_name,
        "plan_type": settings.plan_type,
        "channel": settings.channel,
        "webhook_secrets": list(settings.webhook_secrets),
        "clearinghouse_mailbox": settings.clearinghouse_mailbox,
        **{column: pas.get(field) for field, column in PAS_COLUMNS.items()},
    }


class SqlPayerDirectory:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)

    def get(self, payer_id: str) -> PayerEntry | None:
        with self._sessions.begin() as session:
            row = session.get(PayerRow, payer_id)
            return None if row is None else payer_entry(row)

    def put(self, payer_id: str, settings: PayerSettings, at: datetime) -> tuple[PayerEntry, bool]:
        values = _payer_values(settings) | {"updated_at": at}
        insert = self._insert(PayerRow).values(payer_id=payer_id, created_at=at, **values)
        # Inserted rows report created_at == updated_at only when new; the flag comes from
        # a separate probe inside the same transaction.
        with self._sessions.begin() as session:
            existed = session.get(PayerRow, payer_id, with_for_update=True) is not None
            stmt = insert.on_conflict_do_update(index_elements=[PayerRow.payer_id], set_=values)
            session.execute(stmt)
            session.expire_all()
            row = session.get(PayerRow, payer_id)
            assert row is not None
            return payer_entry(row), not existed

    def list(self) -> list[PayerEntry]:
        with self._sessions.begin() as session:
            rows = session.scalars(select(PayerRow).order_by(PayerRow.payer_id))
            return [payer_entry(row) for row in rows]


# The AES-GCM purposes of the sealed columns (store/phi.py).
PAYLOAD_PURPOSE = "submissions.payload"
RESPONSE_PURPOSE = "submissions.response"


def seal_text(cipher: PhiCipher | None, text: str | None, purpose: str) -> str | None:
    return text if cipher is None or text is None else cipher.seal_text(text, purpose)


def open_text(cipher: PhiCipher | None, text: str | None, purpose: str) -> str | None:
    if text is None or not text.startswith(TEXT_MAGIC):
        return text
    if cipher is None:
        raise UnreadablePhi(f"{purpose} is sealed but no payload key is configured")
    return cipher.open_text(text, purpose)


def submission(row: SubmissionRow, cipher: PhiCipher | None = None) -> Submission:
    found = Submission.model_validate(row, from_attributes=True)
    return found.model_copy(
        update={
            "payload": open_text(cipher, found.payload, PAYLOAD_PURPOSE),
            "response": open_text(cipher, found.response, RESPONSE_PURPOSE),
        }
    )


class SqlSubmissionLog:
    """Payloads and answers name the patient: sealed at rest with `cipher` (store/phi.py)."""

    def __init__(self, engine: Engine, cipher: PhiCipher | None = None) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)
        self._cipher = cipher

    def start(self, new: NewSubmission, at: datetime) -> tuple[Submission, bool]:
        stmt = (
            self._insert(SubmissionRow)
            .values(
                **new.model_dump(exclude={"payload"}),
                payload=seal_text(self._cipher, new.payload, PAYLOAD_PURPOSE),
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=[SubmissionRow.idempotency_key])
            .returning(SubmissionRow.id)
        )
        with self._sessions.begin() as session:
            inserted = session.execute(stmt).first() is not None
            query = select(SubmissionRow).where(
                SubmissionRow.idempotency_key == new.idempotency_key
            )
            return submission(session.scalars(query).one(), self._cipher), inserted

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
        changes: dict[str, Any] = {"status": status, "updated_at": at, "error": error}
        if response_status is not None:
            changes["response_status"] = response_status
        if response is not None:
            changes["response"] = seal_text(self._cipher, response, RESPONSE_PURPOSE)
        stmt = (
            update(SubmissionRow)
            .where(SubmissionRow.idempotency_key == idempotency_key)
            .values(changes)
            .returning(SubmissionRow)
        )
        with self._sessions.begin() as session:
            row = session.scalars(stmt).one_or_none()
            if row is None:
                raise LookupError(f"no submission {idempotency_key}")
            return submission(row, self._cipher)

    def get(self, idempotency_key: str) -> Submission | None:
        query = select(SubmissionRow).where(SubmissionRow.idempotency_key == idempotency_key)
        with self._sessions.begin() as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else submission(row, self._cipher)

    def for_episode(self, episode_id: str) -> list[Submission]:
        query = (
            select(SubmissionRow)
            .where(SubmissionRow.episode_id == episode_id)
            .order_by(SubmissionRow.created_at, SubmissionRow.id)
        )
        with self._sessions.begin() as session:
            return [submission(row, self._cipher) for row in session.scalars(query)]

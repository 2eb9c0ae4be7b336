"""Queueing released claims in the claims outbox, inside the projection's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Claim
from domain.views import StoredEvent
from payers.formats.x12_837i import patient_control_number
from store.data_keys import open_data
from store.phi import PhiCipher, UnreadablePhi, is_sealed
from store.schema import ClaimOutboxRow, EventRow

RELEASED = "claim_released"
OPENED = "episode_opened"
# What the 837I needs from episode_opened besides the claim; `attending` is absent from
# episodes opened before it was asked at intake.
BILLING_FIELDS = ("patient", "payer", "diagnoses", "attending")
# The AES-GCM purposes of the outbox's sealed columns (store/phi.py).
BILLING_PURPOSE = "claims_outbox.billing"
X12_PURPOSE = "claim_batches.x12"


def seal_billing(cipher: PhiCipher | None, billing: dict[str, Any]) -> dict[str, Any]:
    """The billing (patient, payer, diagnoses, attending) as stored: sealed when a key is
    configured."""
    return billing if cipher is None else cipher.seal(billing, BILLING_PURPOSE)


def open_billing(cipher: PhiCipher | None, stored: dict[str, Any]) -> dict[str, Any]:
    if not is_sealed(stored):
        return stored  # queued before the column was sealed, or without a key
    if cipher is None:
        raise UnreadablePhi("the claims outbox holds sealed billing but no payload key is set")
    opened: dict[str, Any] = cipher.open(stored, BILLING_PURPOSE)
    return opened


def queue_released_claims(
    session: Session,
    insert: Any,
    episode_id: str,
    events: Sequence[StoredEvent],
    cipher: PhiCipher | None = None,
) -> int:
    """Queue every claim released in `events`, inside the caller's transaction; a claim
    already in the outbox is left as it is (idempotent on (episode_id, claim_id))."""
    released = [e for e in events if e.type == RELEASED]
    if not released:
        return 0
    billing = _billing(session, episode_id, events, cipher)
    queued = 0
    for event in released:
        claim = Claim.model_validate(event.data["claim"])
        queued += queue_claim(
            session, insert, episode_id, event.data["claim_id"], claim, event.at, billing, cipher
        )
    return queued


def queue_claim(
    session: Session,
    insert: Any,
    episode_id: str,
    claim_id: str,
    claim: Claim,
    released_at: datetime,
    billing: dict[str, Any],
    cipher: PhiCipher | None = None,
) -> int:
    row = {
        "episode_id": episode_id,
        "claim_id": claim_id,
        "control_number": patient_control_number(episode_id, claim_id),
        "payer_id": billing["payer"]["id"],
        "status": "queued",
        "claim": claim.model_dump(mode="json", by_alias=True),
        # Patient, payer and diagnoses are PHI: sealed at rest like the events they came from.
        "billing": seal_billing(cipher, billing),
        "released_at": released_at,
        "updated_at": released_at,
    }
    stmt = (
        insert(ClaimOutboxRow)
        .values(**row)
        .on_conflict_do_nothing(index_elements=[ClaimOutboxRow.episode_id, ClaimOutboxRow.claim_id])
        .returning(ClaimOutboxRow.claim_id)
    )
    return len(session.execute(stmt).all())


def episode_billing(
    session: Session, episode_id: str, cipher: PhiCipher | None = None
) -> dict[str, Any]:
    query = select(EventRow.data).where(EventRow.episode_id == episode_id, EventRow.type == OPENED)
    stored = session.scalars(query.limit(1)).first()
    if stored is None:
        # Projections run in seq order, so the opened event is always stored before a release.
        raise LookupError(f"episode {episode_id} has no projected episode_opened event")
    # The stored patient is sealed at rest (store/phi.py); the 837I needs it in the clear.
    data = open_data(session, cipher, episode_id, stored)
    return {field: data.get(field) for field in BILLING_FIELDS}


def _billing(
    session: Session, episode_id: str, events: Sequence[StoredEvent], cipher: PhiCipher | None
) -> dict[str, Any]:
    for event in events:
        if event.type == OPENED:
            return {field: event.data[field] for field in BILLING_FIELDS}
    return episode_billing(session, episode_id, cipher)

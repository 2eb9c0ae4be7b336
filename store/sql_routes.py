"""SQL statements of the read model's trace routes and PHI blind indexes (see SqlReadModel)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from domain.views import EpisodeSummary, StoredEvent
from store.phi import PhiCipher, index_digest, search_digests, searchable_values
from store.schema import InboxRow, PhiIndexRow, TraceRouteRow

# The event that carries each request's trace number (domain.events.AuthorizationRequested).
REQUEST_EVENT = "authorization_requested"


def route_requests(
    insert: Any, session: Session, summary: EpisodeSummary, events: Sequence[StoredEvent]
) -> None:
    """Routes the batch's requests to the episode; the projection runs before the request is
    submitted (workflows/effects.py), so the route exists before the payer knows the trace."""
    routes = [
        {
            "trace_number": event.data["trace_number"],
            "episode_id": summary.episode_id,
            "payer_id": summary.payer_id,
            "recorded_at": event.at,
        }
        for event in events
        if event.type == REQUEST_EVENT and event.data.get("trace_number")
    ]
    if routes:
        # The projection is authoritative: it corrects a route intake recorded for an open
        # that never happened with those details.
        stmt = insert(TraceRouteRow).values(routes)
        stmt = stmt.on_conflict_do_update(
            index_elements=["trace_number"],
            set_={"episode_id": stmt.excluded.episode_id, "payer_id": stmt.excluded.payer_id},
        )
        session.execute(stmt)


def recoverable(limit: int) -> Select[InboxRow]:
    """Unmatched deliveries whose trace number now has a route of the same payer."""
    return (
        select(InboxRow)
        .join(TraceRouteRow, TraceRouteRow.trace_number == InboxRow.trace_number)
        .where(InboxRow.status == "unmatched", TraceRouteRow.payer_id == InboxRow.payer_id)
        .order_by(InboxRow.received_at, InboxRow.id)
        .limit(limit)
    )


def index_patient(
    cipher: PhiCipher | None, session: Session, episode_id: str, events: Sequence[StoredEvent]
) -> None:
    """Blind indexes of the searchable PHI in `events`, replacing the episode's own."""
    found = [pair for event in events for pair in searchable_values(event.data)]
    if not found:
        return
    session.execute(delete(PhiIndexRow).where(PhiIndexRow.episode_id == episode_id))
    session.add_all(
        PhiIndexRow(episode_id=episode_id, field=field, digest=index_digest(cipher, field, value))
        for field, value in dict.fromkeys(found)
    )


def patients(cipher: PhiCipher | None, session: Session, wanted: dict[str, str]) -> list[str]:
    """Episode ids matching every wanted field, by blind index only."""
    found: set[str] | None = None
    for field, value in wanted.items():
        query = select(PhiIndexRow.episode_id).where(
            PhiIndexRow.field == field,
            PhiIndexRow.digest.in_(search_digests(cipher, field, value)),
        )
        ids = set(session.scalars(query))
        found = ids if found is None else found & ids
    return sorted(found or ())

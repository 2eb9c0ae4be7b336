"""SQL adapters of the store's ports, one short transaction per call, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, distinct, func, or_, select
from sqlalchemy.orm import Session

from domain.report import PayerEvent
from domain.views import ClaimView, EpisodeSummary, StoredEvent, WorklistItem
from store.db import dialect_insert, session_factory
from store.ports import (
    PatientLabel,
    decode_cursor,
    encode_cursor,
    patient_label,
    unmatched_item,
    urgency,
)
from store.schema import ClaimRow, EpisodeRow, EventRow, InboxRow, SearchKeyRow, WorklistRow
from store.search import episode_keys, query_tokens
from store.sql_audit import SqlAuditLog
from store.sql_inbox import SqlWebhookInbox, inbox_entry

__all__ = ["SqlAuditLog", "SqlReadModel", "SqlWebhookInbox"]

# The event that carries each request's trace number (domain.events.AuthorizationRequested).
REQUEST_EVENT = "authorization_requested"
# Five parameters an event; PostgreSQL allows 65535 parameters in one statement.
EVENTS_PER_INSERT = 1000


class SqlReadModel:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)

    def apply(
        self,
        summary: EpisodeSummary,
        events: Sequence[StoredEvent],
        claims: Sequence[ClaimView],
    ) -> int:
        with self._sessions.begin() as session:
            if self._upsert_summary(session, summary):
                self._replace_claims_and_worklist(session, summary, claims)
            self._add_search_keys(session, summary.episode_id, events)
            return self._insert_events(session, summary.episode_id, events)

    def _add_search_keys(
        self, session: Session, episode_id: str, events: Sequence[StoredEvent]
    ) -> None:
        keys = [
            {"episode_id": episode_id, "kind": kind, "key": key}
            for kind, key in sorted(episode_keys(events))
        ]
        if keys:
            session.execute(self._insert(SearchKeyRow).values(keys).on_conflict_do_nothing())

    def _upsert_summary(self, session: Session, summary: EpisodeSummary) -> bool:
        """Writes the summary unless a newer one is stored; True when it was written."""
        values = _episode_values(summary)
        stmt = self._insert(EpisodeRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[EpisodeRow.episode_id],
            set_={key: stmt.excluded[key] for key in values if key != "episode_id"},
            where=EpisodeRow.version <= stmt.excluded.version,
        ).returning(EpisodeRow.episode_id)
        return session.execute(stmt).first() is not None

    def _replace_claims_and_worklist(
        self, session: Session, summary: EpisodeSummary, claims: Sequence[ClaimView]
    ) -> None:
        episode_id = summary.episode_id
        # Claims are upserted by id: a batch carries only the claims its events touched.
        changed = [claim.claim_id for claim in claims]
        session.execute(
            delete(ClaimRow).where(
                ClaimRow.episode_id == episode_id, ClaimRow.claim_id.in_(changed)
            )
        )
        session.execute(delete(WorklistRow).where(WorklistRow.episode_id == episode_id))
        session.add_all(_claim_row(episode_id, claim) for claim in claims)
        session.add_all(
            WorklistRow(
                episode_id=episode_id,
                kind=item.kind,
                due=item.due,
                detail=item.detail,
                payer_id=summary.payer_id,
            )
            for item in summary.worklist
        )

    def _insert_events(
        self, session: Session, episode_id: str, events: Sequence[StoredEvent]
    ) -> int:
        new = 0
        for start in range(0, len(events), EVENTS_PER_INSERT):
            rows = [
                {
                    "episode_id": episode_id,
                    "seq": event.seq,
                    "type": event.type,
                    "at": event.at,
                    "data": event.model_dump(mode="json")["data"],
                }
                for event in events[start : start + EVENTS_PER_INSERT]
            ]
            stmt = (
                self._insert(EventRow)
                .values(rows)
                .on_conflict_do_nothing(index_elements=[EventRow.episode_id, EventRow.seq])
                .returning(EventRow.seq)
            )
            new += len(session.execute(stmt).all())
        return new

    def summary(self, episode_id: str) -> EpisodeSummary | None:
        with self._sessions.begin() as session:
            stored = session.get(EpisodeRow, episode_id)
            return None if stored is None else EpisodeSummary.model_validate(stored.summary_json)

    def list_episodes(
        self,
        state: str | None = None,
        payer_id: str | None = None,
        due_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        q: str | None = None,
    ) -> tuple[list[EpisodeSummary], str | None]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = select(EpisodeRow.summary_json)
        if q is not None:
            query = query.where(EpisodeRow.episode_id.in_(_matching(query_tokens(q))))
        if state is not None:
            query = query.where(EpisodeRow.state == state)
        if payer_id is not None:
            query = query.where(EpisodeRow.payer_id == payer_id)
        if due_before is not None:
            query = query.where(EpisodeRow.next_deadline <= due_before)
        if cursor is not None:
            query = query.where(_older_than(*decode_cursor(cursor)))
        query = query.order_by(EpisodeRow.opened_at.desc(), EpisodeRow.episode_id.desc())
        with self._sessions.begin() as session:
            found = session.scalars(query.limit(limit + 1)).all()
        page = [EpisodeSummary.model_validate(row) for row in found[:limit]]
        more = len(found) > limit
        return page, encode_cursor(page[-1].opened_at, page[-1].episode_id) if more else None

    def events(self, episode_id: str, after: int = 0) -> list[StoredEvent]:
        query = (
            select(EventRow)
            .where(EventRow.episode_id == episode_id, EventRow.seq > after)
            .order_by(EventRow.seq)
        )
        with self._sessions.begin() as session:
            return [
                StoredEvent(seq=row.seq, type=row.type, at=row.at, data=row.data)
                for row in session.scalars(query)
            ]

    def payer_events(
        self, start: datetime, end: datetime, types: Collection[str]
    ) -> list[PayerEvent]:
        active = (
            select(EventRow.episode_id).where(EventRow.at >= start, EventRow.at < end).distinct()
        )
        query = (
            select(EventRow, EpisodeRow.payer_id, EpisodeRow.plan_type)
            .join(EpisodeRow, EpisodeRow.episode_id == EventRow.episode_id)
            .where(EventRow.episode_id.in_(active), EventRow.type.in_(list(types)))
            .order_by(EventRow.episode_id, EventRow.seq)
        )
        with self._sessions.begin() as session:
            return [
                PayerEvent(
                    row.episode_id,
                    payer_id,
                    plan_type,
                    StoredEvent(seq=row.seq, type=row.type, at=row.at, data=row.data),
                )
                for row, payer_id, plan_type in session.execute(query)
            ]

    def patients(self, episode_ids: Sequence[str]) -> dict[str, PatientLabel]:
        if not episode_ids:
            return {}
        query = select(EventRow.episode_id, EventRow.data).where(
            EventRow.episode_id.in_(list(episode_ids)), EventRow.type == "episode_opened"
        )
        with self._sessions.begin() as session:
            rows = session.execute(query).all()
        labels = {episode_id: patient_label(data) for episode_id, data in rows}
        return {episode_id: label for episode_id, label in labels.items() if label is not None}

    def claims(self, episode_id: str) -> list[ClaimView]:
        query = (
            select(ClaimRow)
            .where(ClaimRow.episode_id == episode_id)
            .order_by(ClaimRow.through, ClaimRow.claim_id)
        )
        with self._sessions.begin() as session:
            return [_claim_view(row) for row in session.scalars(query)]

    def worklist(self, kind: str | None = None, payer_id: str | None = None) -> list[WorklistItem]:
        items = select(WorklistRow)
        unmatched = select(InboxRow).where(InboxRow.status == "unmatched")
        if kind is not None:
            items = items.where(WorklistRow.kind == kind)
        if payer_id is not None:
            items = items.where(WorklistRow.payer_id == payer_id)
            unmatched = unmatched.where(InboxRow.payer_id == payer_id)
        with self._sessions.begin() as session:
            found = [
                WorklistItem.model_validate(row, from_attributes=True)
                for row in session.scalars(items)
            ]
            if kind in (None, "webhook_unmatched"):
                found += [unmatched_item(inbox_entry(row)) for row in session.scalars(unmatched)]
        return sorted(found, key=urgency)

    def last_seq(self, episode_id: str) -> int:
        query = select(func.max(EventRow.seq)).where(EventRow.episode_id == episode_id)
        with self._sessions.begin() as session:
            return session.scalar(query) or 0

    def delete_episode(self, episode_id: str) -> None:
        with self._sessions.begin() as session:
            # Children first, so a rebuild never depends on the database enforcing the cascade.
            for table in (EventRow, ClaimRow, WorklistRow):
                session.execute(delete(table).where(table.episode_id == episode_id))
            session.execute(delete(EpisodeRow).where(EpisodeRow.episode_id == episode_id))

    def episode_for_trace(self, trace_number: str) -> str | None:
        latest = select(EpisodeRow.episode_id).where(EpisodeRow.trace_number == trace_number)
        earlier = select(EventRow.episode_id).where(
            EventRow.type == REQUEST_EVENT,
            EventRow.data["trace_number"].as_string() == trace_number,
        )
        with self._sessions.begin() as session:
            found = session.scalars(latest.limit(1)).first()
            return found or session.scalars(earlier.limit(1)).first()


def _episode_values(summary: EpisodeSummary) -> dict[str, Any]:
    fields = summary.model_dump()
    # A summary field without a column (added later, not yet filtered on) lives in summary_json.
    columns = {c.key: fields[c.key] for c in EpisodeRow.__table__.columns if c.key in fields}
    return {**columns, "summary_json": summary.model_dump(mode="json")}


def _older_than(opened_at: datetime, episode_id: str) -> Any:
    return or_(
        EpisodeRow.opened_at < opened_at,
        and_(EpisodeRow.opened_at == opened_at, EpisodeRow.episode_id < episode_id),
    )


def _claim_row(episode_id: str, view: ClaimView) -> ClaimRow:
    stored = view.model_dump(mode="json", by_alias=True)
    return ClaimRow(
        episode_id=episode_id,
        claim_id=view.claim_id,
        status=view.status,
        through=view.through,
        claim=stored["claim"],
        reasons=stored["reasons"],
    )


def _claim_view(row: ClaimRow) -> ClaimView:
    return ClaimView.model_validate(
        {
            "claim_id": row.claim_id,
            "status": row.status,
            "through": row.through,
            "claim": row.claim,
            "reasons": row.reasons,
        }
    )


def _matching(tokens: list[str]) -> Any:
    """Ids of the episodes that have every token as a search key (of any kind)."""
    return (
        select(SearchKeyRow.episode_id)
        .where(SearchKeyRow.key.in_(tokens))
        .group_by(SearchKeyRow.episode_id)
        .having(func.count(distinct(SearchKeyRow.key)) == len(tokens))
    )

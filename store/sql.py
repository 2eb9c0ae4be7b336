"""SQL adapters of the store's ports, one short transaction per call, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from domain.replay import same_facts
from domain.report import PayerEvent
from domain.views import ClaimView, EpisodeSummary, StoredEvent, WorklistItem
from store.chain import GENESIS, event_hash
from store.claims_queue import queue_released_claims
from store.data_keys import ensure_data_key, open_data
from store.db import dialect_insert, session_factory
from store.phi import PhiCipher, has_phi, seal_event_data, search_token, search_tokens
from store.ports import (
    EventConflict,
    EventGap,
    InboxEntry,
    PatientLabel,
    TraceRoute,
    decode_cursor,
    encode_cursor,
    patient_label,
    unmatched_item,
    urgency,
)
from store.schema import (
    ClaimRow,
    EpisodeRow,
    EventRow,
    InboxRow,
    SearchKeyRow,
    TraceRouteRow,
    WorklistRow,
)
from store.search import episode_keys, query_tokens
from store.sql_audit import SqlAuditLog
from store.sql_inbox import SqlWebhookInbox, inbox_entry
from store.sql_routes import REQUEST_EVENT, index_patient, patients, recoverable, route_requests

__all__ = ["SqlAuditLog", "SqlReadModel", "SqlWebhookInbox"]

# Five parameters an event; PostgreSQL allows 65535 parameters in one statement.
EVENTS_PER_INSERT = 1000


class SqlReadModel:
    """`cipher` seals the PHI of event data at rest (store/phi.py); without it, plain."""

    def __init__(self, engine: Engine, cipher: PhiCipher | None = None) -> None:
        self._sessions = session_factory(engine)
        self._insert = dialect_insert(engine)
        self._cipher = cipher

    @property
    def cipher(self) -> PhiCipher | None:
        return self._cipher

    def apply(
        self,
        summary: EpisodeSummary,
        events: Sequence[StoredEvent],
        claims: Sequence[ClaimView],
    ) -> int:
        with self._sessions.begin() as session:
            self.write_derived(session, summary, claims)
            route_requests(self._insert, session, summary, events)
            self._add_search_keys(session, summary.episode_id, events)
            new = self._insert_events(session, summary.episode_id, events)
            # Same transaction: a claim is released in the read model only with its outbox row.
            queue_released_claims(session, self._insert, summary.episode_id, events, self._cipher)
            return new

    def write_derived(
        self, session: Session, summary: EpisodeSummary, claims: Sequence[ClaimView]
    ) -> None:
        """The summary, its worklist and `claims`, in `session`, unless a newer one is stored."""
        if self._upsert_summary(session, summary):
            self._replace_claims_and_worklist(session, summary, claims)

    def _add_search_keys(
        self, session: Session, episode_id: str, events: Sequence[StoredEvent]
    ) -> None:
        keys = search_key_rows(self._cipher, episode_id, events)
        if keys:
            session.execute(self._insert(SearchKeyRow).values(keys).on_conflict_do_nothing())

    def _matching(self, token: str) -> Any:
        """Ids of the episodes that have `token` as a search key (of any kind, any key id)."""
        digests = search_tokens(self._cipher, token)
        return select(SearchKeyRow.episode_id).where(SearchKeyRow.key.in_(digests))

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
        # Core statements, one per table (no ORM unit of work): this runs for every batch.
        if claims:
            changed = [claim.claim_id for claim in claims]
            session.execute(
                delete(ClaimRow).where(
                    ClaimRow.episode_id == episode_id, ClaimRow.claim_id.in_(changed)
                )
            )
            session.execute(insert(ClaimRow), [_claim_values(episode_id, c) for c in claims])
        session.execute(delete(WorklistRow).where(WorklistRow.episode_id == episode_id))
        items = [
            {
                "episode_id": episode_id,
                "kind": item.kind,
                "due": item.due,
                "detail": item.detail,
                "payer_id": summary.payer_id,
                "since": item.since,
                "value_cents": None if item.value is None else int(item.value * 100),
            }
            for item in summary.worklist
        ]
        if items:
            session.execute(insert(WorklistRow), items)

    def _insert_events(
        self, session: Session, episode_id: str, events: Sequence[StoredEvent]
    ) -> int:
        """Appends the events to the episode's hash chain; returns how many were new.

        An event already stored with the same content is a no-op; one stored with other
        content, or a batch that would leave a gap in seq, raises and writes nothing: the
        event store is never overwritten (store/chain.py).
        """
        if not events:
            return 0
        index_patient(self._cipher, session, episode_id, events)
        ordered = sorted(events, key=lambda e: e.seq)
        first, last = ordered[0].seq, ordered[-1].seq
        if [e.seq for e in ordered] != list(range(first, last + 1)):
            raise EventGap(f"{episode_id}: a batch must hold consecutive seqs, not {first}..{last}")
        # The hash the batch chains from and those of its seqs already stored: one query.
        stored = self._stored_hashes(session, episode_id, max(first - 1, 1), last)
        prev = GENESIS if first == 1 else stored.pop(first - 1, None)
        if prev is None:
            raise EventGap(f"{episode_id}: seq {first - 1} is not stored; cannot append {first}")
        key = None
        if self._cipher is not None and any(has_phi(e.data) for e in ordered):
            key = ensure_data_key(session, self._cipher, episode_id)
        rows = []
        for event in ordered:
            data = event.model_dump(mode="json")["data"]
            own = event_hash(episode_id, event.seq, event.type, event.at, data, prev)
            if event.seq in stored:
                # Redelivered: the stored event stays as written (its hash continues the
                # chain), provided it states the same facts — an event of an earlier
                # release's shape, replayed by this release, differs only in its form.
                if stored[event.seq] != own and not self._same_stored(session, episode_id, event):
                    raise EventConflict(
                        f"{episode_id}: seq [{event.seq}] already stored with other content; "
                        "the event store is never overwritten"
                    )
                prev = stored[event.seq]
                continue
            rows.append(
                {
                    "episode_id": episode_id,
                    "seq": event.seq,
                    "type": event.type,
                    "at": event.at,
                    # Sealed at rest under the episode's data key (store/phi.py); the chain
                    # hashes the plain data, so a redelivered event (sealed with a new
                    # nonce) still matches its hash.
                    "data": seal_event_data(key, data),
                    "prev_hash": prev,
                    "hash": own,
                }
            )
            prev = own
        new = 0
        for start in range(0, len(rows), EVENTS_PER_INSERT):
            stmt = (
                self._insert(EventRow)
                .values(rows[start : start + EVENTS_PER_INSERT])
                .on_conflict_do_nothing(index_elements=[EventRow.episode_id, EventRow.seq])
                .returning(EventRow.seq)
            )
            new += len(session.execute(stmt).all())
        if new < len(rows):
            self._check_redelivered(session, episode_id, rows)
        return new

    def _stored_hashes(
        self, session: Session, episode_id: str, first: int, last: int
    ) -> dict[int, str]:
        query = select(EventRow.seq, EventRow.hash).where(
            EventRow.episode_id == episode_id, EventRow.seq.between(first, last)
        )
        return {seq: own for seq, own in session.execute(query)}

    def _same_stored(self, session: Session, episode_id: str, event: StoredEvent) -> bool:
        query = select(EventRow).where(EventRow.episode_id == episode_id, EventRow.seq == event.seq)
        row = session.scalars(query).one()
        data = open_data(session, self._cipher, episode_id, row.data)
        kept = StoredEvent(seq=row.seq, type=row.type, at=row.at, data=data)
        return same_facts(kept, event)

    def _check_redelivered(
        self, session: Session, episode_id: str, rows: list[dict[str, Any]]
    ) -> None:
        """A redelivered event must be the stored one: same content, hence the same hash."""
        query = select(EventRow.seq, EventRow.hash).where(
            EventRow.episode_id == episode_id,
            EventRow.seq.between(rows[0]["seq"], rows[-1]["seq"]),
        )
        stored = {seq: own for seq, own in session.execute(query)}
        differing = [row["seq"] for row in rows if stored.get(row["seq"]) != row["hash"]]
        if differing:
            raise EventConflict(
                f"{episode_id}: seq {differing} already stored with other content; "
                "the event store is never overwritten"
            )

    def episodes_for_patient(
        self, member_id: str | None = None, patient_name: str | None = None
    ) -> list[str]:
        wanted = {f: v for f, v in (("member_id", member_id), ("patient_name", patient_name)) if v}
        if not wanted:
            return []
        with self._sessions.begin() as session:
            return patients(self._cipher, session, wanted)

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
            tokens = query_tokens(q)
            if not tokens:
                return [], None  # no words: nothing, not everything
            for token in tokens:
                query = query.where(EpisodeRow.episode_id.in_(self._matching(token)))
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
                StoredEvent(
                    seq=row.seq,
                    type=row.type,
                    at=row.at,
                    data=open_data(session, self._cipher, episode_id, row.data),
                )
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
                    StoredEvent(
                        seq=row.seq,
                        type=row.type,
                        at=row.at,
                        # None of the report's types holds PHI; opened anyway, should one.
                        data=open_data(session, self._cipher, row.episode_id, row.data),
                    ),
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
            labels = {
                episode_id: patient_label(open_data(session, self._cipher, episode_id, data))
                for episode_id, data in session.execute(query).all()
            }
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
            found = [_worklist_item(row) for row in session.scalars(items)]
            if kind in (None, "webhook_unmatched"):
                found += [
                    unmatched_item(inbox_entry(row, with_body=False))
                    for row in session.scalars(unmatched)
                ]
        return sorted(found, key=urgency)

    def last_seq(self, episode_id: str) -> int:
        query = select(func.max(EventRow.seq)).where(EventRow.episode_id == episode_id)
        with self._sessions.begin() as session:
            return session.scalar(query) or 0

    def delete_episode(self, episode_id: str) -> None:
        """Removes the episode's derived rows; its events are the record and stay."""
        with self._sessions.begin() as session:
            # Children first, so a rebuild never depends on the database enforcing the cascade.
            for table in (ClaimRow, WorklistRow):
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

    def record_trace(self, trace_number: str, episode_id: str, payer_id: str, at: datetime) -> None:
        stmt = self._insert(TraceRouteRow).values(
            trace_number=trace_number, episode_id=episode_id, payer_id=payer_id, recorded_at=at
        )
        with self._sessions.begin() as session:
            session.execute(stmt.on_conflict_do_nothing(index_elements=["trace_number"]))

    def trace_route(self, trace_number: str) -> TraceRoute | None:
        with self._sessions.begin() as session:
            row = session.get(TraceRouteRow, trace_number)
            if row is not None:
                return TraceRoute(
                    trace_number=trace_number, episode_id=row.episode_id, payer_id=row.payer_id
                )
        episode_id = self.episode_for_trace(trace_number)
        found = None if episode_id is None else self.summary(episode_id)
        if found is None:
            return None
        return TraceRoute(trace_number=trace_number, episode_id=episode_id, payer_id=found.payer_id)

    def recoverable_deliveries(self, limit: int = 100) -> list[InboxEntry]:
        with self._sessions.begin() as session:
            return [inbox_entry(row, self._cipher) for row in session.scalars(recoverable(limit))]


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


def _claim_values(episode_id: str, view: ClaimView) -> dict[str, Any]:
    stored = view.model_dump(mode="json", by_alias=True)
    return {
        "episode_id": episode_id,
        "claim_id": view.claim_id,
        "status": view.status,
        "through": view.through,
        "claim": stored["claim"],
        "reasons": stored["reasons"],
        "dropped": stored["dropped"],
        "superseded_by": view.superseded_by,
    }


def _claim_view(row: ClaimRow) -> ClaimView:
    return ClaimView.model_validate(
        {
            "claim_id": row.claim_id,
            "status": row.status,
            "through": row.through,
            "claim": row.claim,
            "reasons": row.reasons,
            "dropped": row.dropped or [],
            "superseded_by": row.superseded_by,
        }
    )


def _worklist_item(row: WorklistRow) -> WorklistItem:
    cents = row.value_cents
    return WorklistItem.model_validate(
        {
            "episode_id": row.episode_id,
            "kind": row.kind,
            "due": row.due,
            "detail": row.detail,
            "since": row.since,
            "value": None if cents is None else Decimal(cents) / 100,
        }
    )


def search_key_rows(
    cipher: PhiCipher | None, episode_id: str, events: Sequence[StoredEvent]
) -> list[dict[str, str]]:
    """The episode's search keys as stored: keyed digests (store/phi.py), never the words."""
    found = {(kind, search_token(cipher, key)) for kind, key in episode_keys(events)}
    return [{"episode_id": episode_id, "kind": kind, "key": key} for kind, key in sorted(found)]

"""In-memory fakes of the store's ports, run through the store contract suite beside the SQL
backends (tests/store/conftest.py). Production wiring cannot import this module."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.replay import same_facts
from domain.report import PayerEvent
from domain.views import ClaimView, EpisodeSummary, StoredEvent, WorklistItem
from store.phi import normalise, searchable_values
from store.ports import (
    PENDING_STATUSES,
    AuditEntry,
    EventConflict,
    EventGap,
    InboxEntry,
    InboxStatus,
    PatientLabel,
    TraceRoute,
    UnknownDelivery,
    decode_cursor,
    encode_cursor,
    patient_label,
    unmatched_item,
    urgency,
)
from store.search import episode_keys, query_tokens


class InMemoryReadModel:
    """Keeps JSON copies, as the database does, so callers never share mutable models."""

    def __init__(self, inbox: InMemoryWebhookInbox | None = None) -> None:
        self._lock = threading.Lock()
        self._summaries: dict[str, dict[str, Any]] = {}
        self._events: dict[str, dict[int, dict[str, Any]]] = {}
        self._claims: dict[str, list[dict[str, Any]]] = {}
        self._routes: dict[str, TraceRoute] = {}
        self._keys: dict[str, set[str]] = {}
        # The worklist shows unmatched deliveries, which live in the inbox.
        self._inbox = inbox or InMemoryWebhookInbox()

    def apply(
        self,
        summary: EpisodeSummary,
        events: Sequence[StoredEvent],
        claims: Sequence[ClaimView],
    ) -> int:
        episode_id = summary.episode_id
        with self._lock:
            known = self._events.setdefault(episode_id, {})
            _check_append(episode_id, known, events)
            stored = self._summaries.get(episode_id)
            if stored is None or stored["version"] <= summary.version:
                self._summaries[episode_id] = summary.model_dump(mode="json")
                changed = {c.claim_id: c.model_dump(mode="json", by_alias=True) for c in claims}
                kept = [c for c in self._claims.get(episode_id, []) if c["claim_id"] not in changed]
                self._claims[episode_id] = kept + list(changed.values())
            keys = self._keys.setdefault(episode_id, set())
            keys |= {key for _, key in episode_keys(events)}
            new = 0
            for event in events:
                trace = event.data.get("trace_number")
                if event.type == "authorization_requested" and trace:
                    route = TraceRoute(
                        trace_number=trace, episode_id=episode_id, payer_id=summary.payer_id
                    )
                    self._routes[trace] = route
                if event.seq not in known:
                    known[event.seq] = event.model_dump(mode="json")
                    new += 1
            return new

    def summary(self, episode_id: str) -> EpisodeSummary | None:
        with self._lock:
            stored = self._summaries.get(episode_id)
        return None if stored is None else EpisodeSummary.model_validate(stored)

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
        after = decode_cursor(cursor) if cursor is not None else None
        tokens = set(query_tokens(q)) if q is not None else None
        with self._lock:
            summaries = [
                EpisodeSummary.model_validate(s)
                for episode_id, s in self._summaries.items()
                if tokens is None or (tokens and tokens <= self._keys.get(episode_id, set()))
            ]
        found = sorted(
            (s for s in summaries if _matches(s, state, payer_id, due_before, after)),
            key=lambda s: (s.opened_at, s.episode_id),
            reverse=True,
        )
        page = found[:limit]
        more = len(found) > limit
        return page, encode_cursor(page[-1].opened_at, page[-1].episode_id) if more else None

    def events(self, episode_id: str, after: int = 0) -> list[StoredEvent]:
        with self._lock:
            known = dict(self._events.get(episode_id, {}))
        return [StoredEvent.model_validate(known[seq]) for seq in sorted(known) if seq > after]

    def payer_events(
        self, start: datetime, end: datetime, types: Collection[str]
    ) -> list[PayerEvent]:
        found = []
        with self._lock:
            for episode_id, known in sorted(self._events.items()):
                summary = self._summaries.get(episode_id)
                events = [StoredEvent.model_validate(known[seq]) for seq in sorted(known)]
                if summary is None or not any(start <= e.at < end for e in events):
                    continue
                found += [
                    PayerEvent(episode_id, summary["payer_id"], summary["plan_type"], e)
                    for e in events
                    if e.type in types
                ]
        return found

    def patients(self, episode_ids: Sequence[str]) -> dict[str, PatientLabel]:
        labels: dict[str, PatientLabel] = {}
        with self._lock:
            for episode_id in episode_ids:
                for event in self._events.get(episode_id, {}).values():
                    label = (
                        patient_label(event["data"]) if event["type"] == "episode_opened" else None
                    )
                    if label is not None:
                        labels[episode_id] = label
        return labels

    def claims(self, episode_id: str) -> list[ClaimView]:
        with self._lock:
            stored = list(self._claims.get(episode_id, []))
        views = [ClaimView.model_validate(claim) for claim in stored]
        return sorted(views, key=lambda view: (view.through, view.claim_id))

    def worklist(self, kind: str | None = None, payer_id: str | None = None) -> list[WorklistItem]:
        with self._lock:
            summaries = [EpisodeSummary.model_validate(s) for s in self._summaries.values()]
        found = [
            item
            for summary in summaries
            if payer_id is None or summary.payer_id == payer_id
            for item in summary.worklist
            if kind is None or item.kind == kind
        ]
        if kind in (None, "webhook_unmatched"):
            found += [unmatched_item(entry) for entry in self._inbox.unmatched(payer_id)]
        return sorted(found, key=urgency)

    def last_seq(self, episode_id: str) -> int:
        with self._lock:
            return max(self._events.get(episode_id, {}), default=0)

    def delete_episode(self, episode_id: str) -> None:
        with self._lock:
            for table in (self._summaries, self._claims):
                table.pop(episode_id, None)

    def episode_for_trace(self, trace_number: str) -> str | None:
        with self._lock:
            for episode_id, stored in self._summaries.items():
                if stored["trace_number"] == trace_number:
                    return episode_id
            for episode_id, known in self._events.items():
                if any(_requested(event, trace_number) for event in known.values()):
                    return episode_id
        return None

    def record_trace(self, trace_number: str, episode_id: str, payer_id: str, at: datetime) -> None:
        route = TraceRoute(trace_number=trace_number, episode_id=episode_id, payer_id=payer_id)
        with self._lock:
            self._routes.setdefault(trace_number, route)

    def trace_route(self, trace_number: str) -> TraceRoute | None:
        with self._lock:
            route = self._routes.get(trace_number)
        if route is not None:
            return route
        episode_id = self.episode_for_trace(trace_number)
        found = None if episode_id is None else self.summary(episode_id)
        if found is None:
            return None
        return TraceRoute(trace_number=trace_number, episode_id=episode_id, payer_id=found.payer_id)

    def episodes_for_patient(
        self, member_id: str | None = None, patient_name: str | None = None
    ) -> list[str]:
        wanted = {f: v for f, v in (("member_id", member_id), ("patient_name", patient_name)) if v}
        if not wanted:
            return []
        with self._lock:
            stored = {e: list(known.values()) for e, known in self._events.items()}
        found = []
        for episode_id, events in stored.items():
            values = {f: v for event in events for f, v in searchable_values(event["data"])}
            if all(
                field in values and normalise(field, values[field]) == normalise(field, value)
                for field, value in wanted.items()
            ):
                found.append(episode_id)
        return sorted(found)

    def recoverable_deliveries(self, limit: int = 100) -> list[InboxEntry]:
        with self._lock:
            routes = dict(self._routes)
        found = [
            entry
            for entry in self._inbox.unmatched()
            if entry.trace_number in routes
            and routes[entry.trace_number].payer_id == entry.payer_id
        ]
        return sorted(found, key=lambda e: e.received_at)[:limit]


def _matches(
    summary: EpisodeSummary,
    state: str | None,
    payer_id: str | None,
    due_before: datetime | None,
    after: tuple[datetime, str] | None,
) -> bool:
    if state is not None and summary.state != state:
        return False
    if payer_id is not None and summary.payer_id != payer_id:
        return False
    if due_before is not None and (
        summary.next_deadline is None or summary.next_deadline > due_before
    ):
        return False
    return after is None or (summary.opened_at, summary.episode_id) < after


def _requested(event: dict[str, Any], trace_number: str) -> bool:
    return event["type"] == "authorization_requested" and (
        event["data"].get("trace_number") == trace_number
    )


class InMemoryWebhookInbox:
    def __init__(self, audit_log: InMemoryAuditLog | None = None) -> None:
        self._lock = threading.Lock()
        # Where `mark(audit=...)` appends (the SQL inbox writes the audit table it shares).
        self._audit_log = audit_log
        # Keyed by (payer_id, delivery_id): delivery ids are unique per payer.
        self._entries: dict[tuple[str, str], InboxEntry] = {}
        self._signatures: dict[tuple[str, str], tuple[str, datetime]] = {}

    def receive(
        self,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
    ) -> tuple[InboxEntry, bool]:
        with self._lock:
            key = (payer_id, delivery_id)
            if key in self._entries:
                return self._entries[key], False
            entry = InboxEntry(
                delivery_id=delivery_id,
                payer_id=payer_id,
                content_type=content_type,
                headers=dict(headers),
                body=bytes(body),
                received_at=received_at,
                status="received",
                updated_at=received_at,
            )
            self._entries[key] = entry
            return entry, True

    def _key(self, delivery_id: str, payer_id: str | None) -> tuple[str, str] | None:
        # dicts keep insertion order: the first match is the oldest entry of that id.
        for key in self._entries:
            if key[1] == delivery_id and payer_id in (None, key[0]):
                return key
        return None

    def mark(
        self,
        delivery_id: str,
        status: InboxStatus,
        *,
        episode_id: str | None = None,
        error: str | None = None,
        response: dict[str, Any] | None = None,
        payer_id: str | None = None,
        trace_number: str | None = None,
        replace_response: bool = False,
        audit: AuditEntry | None = None,
    ) -> InboxEntry:
        with self._lock:
            key = self._key(delivery_id, payer_id)
            if key is None:
                raise UnknownDelivery(delivery_id)
            entry = self._entries[key]
            keep = entry.response is not None and not (replace_response and response is not None)
            entry = entry.model_copy(
                update={
                    "status": status,
                    "updated_at": datetime.now(UTC),
                    "attempts": entry.attempts + (status == "queued"),
                    "episode_id": entry.episode_id if episode_id is None else episode_id,
                    "last_error": entry.last_error if error is None else error,
                    "response": entry.response if keep else response,
                    "trace_number": trace_number or entry.trace_number,
                },
                deep=True,
            )
            self._entries[key] = entry
        if audit is not None and self._audit_log is not None:
            self._audit_log.append(audit)
        return entry

    def get(self, delivery_id: str, payer_id: str | None = None) -> InboxEntry | None:
        with self._lock:
            key = self._key(delivery_id, payer_id)
            return None if key is None else self._entries[key]

    def due_for_redelivery(self, limit: int = 100) -> list[InboxEntry]:
        with self._lock:
            pending = [e for e in self._entries.values() if e.status in PENDING_STATUSES]
        # dicts keep insertion order, so a stable sort breaks received_at ties by arrival.
        return sorted(pending, key=lambda e: e.received_at)[:limit]

    def unmatched(self, payer_id: str | None = None) -> list[InboxEntry]:
        with self._lock:
            return [
                entry
                for entry in self._entries.values()
                if entry.status == "unmatched" and (payer_id is None or entry.payer_id == payer_id)
            ]

    def remember_signature(
        self, payer_id: str, signature: str, delivery_id: str, seen_at: datetime
    ) -> str:
        with self._lock:
            first = self._signatures.setdefault((payer_id, signature), (delivery_id, seen_at))
            return first[0]

    def receive_signed(
        self,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
        signature: str,
    ) -> tuple[InboxEntry | None, bool, str]:
        first = self.remember_signature(payer_id, signature, delivery_id, received_at)
        if first != delivery_id:
            return None, False, first
        entry, stored = self.receive(
            delivery_id, payer_id, content_type, headers, body, received_at
        )
        return entry, stored, first

    def claim_signature(self, payer_id: str, signature: str, old: str, new: str) -> bool:
        with self._lock:
            held = self._signatures.get((payer_id, signature))
            if held is None or held[0] != old:
                return False
            self._signatures[(payer_id, signature)] = (new, held[1])
            return True

    def forget_signatures(self, before: datetime) -> int:
        with self._lock:
            old = [key for key, (_, seen) in self._signatures.items() if seen < before]
            for key in old:
                del self._signatures[key]
            return len(old)


class InMemoryAuditLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[AuditEntry] = []

    def append(self, entry: AuditEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, episode_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        with self._lock:
            matching = [e for e in self._entries if episode_id in (None, e.episode_id)]
        # Newest first; reversing before the stable sort puts later appends first on ties.
        return sorted(reversed(matching), key=lambda e: e.at, reverse=True)[:limit]


def _check_append(
    episode_id: str, known: dict[int, dict[str, Any]], events: Sequence[StoredEvent]
) -> None:
    """The SQL store's append rules: no gap before the batch, never other content for a seq."""
    seqs = sorted(e.seq for e in events)
    if not seqs:
        return
    if seqs != list(range(seqs[0], seqs[-1] + 1)):
        raise EventGap(f"{episode_id}: a batch must hold consecutive seqs")
    if seqs[0] > 1 and seqs[0] - 1 not in known:
        raise EventGap(f"{episode_id}: seq {seqs[0] - 1} is not stored; cannot append {seqs[0]}")
    differing = [
        e.seq
        for e in events
        if e.seq in known and not same_facts(StoredEvent.model_validate(known[e.seq]), e)
    ]
    if differing:
        raise EventConflict(f"{episode_id}: seq {differing} already stored with other content")

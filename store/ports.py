"""The store's ports: the read-model projection, the webhook inbox and the audit log."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from domain.report import PayerEvent
from domain.views import ClaimView, EpisodeSummary, StoredEvent, WorklistItem, ranked_at

InboxStatus = Literal["received", "applied", "queued", "duplicate", "unmatched", "rejected"]
# Deliveries the redelivery loop still owes to the workflow service.
PENDING_STATUSES: tuple[InboxStatus, ...] = ("received", "queued")


class InvalidCursor(ValueError):
    """A list cursor that this store did not hand out."""


class EventConflict(ValueError):
    """An event redelivered for a stored (episode_id, seq) with other content."""


class EventGap(ValueError):
    """Events whose predecessor is not stored: the chain would have a hole."""


class UnknownDelivery(LookupError):
    """A webhook delivery id the inbox has never received."""


class InboxEntry(BaseModel):
    """One payer webhook delivery exactly as received, with what became of it."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    payer_id: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    status: InboxStatus
    episode_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    # The first answer given to the payer, repeated verbatim to any redelivery.
    response: dict[str, Any] | None = None
    updated_at: datetime
    # The trace number an unmatched delivery names (set when it is marked unmatched).
    trace_number: str | None = None


class TraceRoute(BaseModel):
    """The episode that sent the request a trace number names, and that episode's payer."""

    model_config = ConfigDict(frozen=True)

    trace_number: str
    episode_id: str
    payer_id: str


class PatientLabel(BaseModel):
    """How lists name an episode's patient (console only; the summaries carry no PHI)."""

    model_config = ConfigDict(frozen=True)

    name: str
    member_id: str


class AuditEntry(BaseModel):
    """Who did what to which episode, and how it ended."""

    model_config = ConfigDict(frozen=True)

    actor: str
    role: str
    action: str
    route: str
    episode_id: str | None = None
    outcome: str
    status_code: int
    request_id: str
    at: datetime
    # The person behind `actor`, when the caller is a user rather than a role token or payer.
    user_id: int | None = None
    actor_name: str | None = None


class ReadModel(Protocol):
    """The SQL projection of episodes: summaries, events, claims and the worklist."""

    def apply(
        self,
        summary: EpisodeSummary,
        events: Sequence[StoredEvent],
        claims: Sequence[ClaimView],
    ) -> int:
        """Stores events once per (episode_id, seq) and returns how many were new.

        The same event again is a no-op; other content for a stored seq raises EventConflict
        and a first seq whose predecessor is not stored raises EventGap; neither writes.

        `claims` are the claims the batch's events touched, upserted by `claim_id` (a claim
        never disappears). The summary, its worklist and the claims are written only when
        `summary.version` is at least the stored version: a late, older projection never
        moves an episode backwards.
        """
        ...

    def summary(self, episode_id: str) -> EpisodeSummary | None: ...

    def list_episodes(
        self,
        state: str | None = None,
        payer_id: str | None = None,
        due_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        q: str | None = None,
    ) -> tuple[list[EpisodeSummary], str | None]:
        """A page newest first (opened_at, then episode_id, descending) and the next cursor.

        `due_before` keeps episodes whose next deadline is at or before it; `q` those that
        have every word of it as a search key (store/search.py: patient name words, member
        id, authorization and trace numbers; a `q` without words matches nothing); the
        cursor is None on the last page; a cursor not handed out here raises InvalidCursor.
        """
        ...

    def events(self, episode_id: str, after: int = 0) -> list[StoredEvent]: ...

    def payer_events(
        self, start: datetime, end: datetime, types: Collection[str]
    ) -> list[PayerEvent]:
        """Every event of `types` of the episodes with any event in [start, end), earlier
        and later ones included, each with its episode's payer and plan type."""
        ...

    def patients(self, episode_ids: Sequence[str]) -> dict[str, PatientLabel]:
        """The patient of each episode, from its projected `episode_opened` event."""
        ...

    def claims(self, episode_id: str) -> list[ClaimView]: ...

    def worklist(self, kind: str | None = None, payer_id: str | None = None) -> list[WorklistItem]:
        """Earliest due first, undated last; unmatched webhook deliveries included."""
        ...

    def last_seq(self, episode_id: str) -> int: ...

    def delete_episode(self, episode_id: str) -> None:
        """Removes the episode's derived rows (summary, claims, worklist), never its events."""
        ...

    def episode_for_trace(self, trace_number: str) -> str | None:
        """The episode a payer's trace number belongs to, or None when no episode sent it.

        The latest request's trace number is found on the summary (an indexed column);
        an earlier request's, which a late payer may still answer, in its projected
        `authorization_requested` event.
        """
        ...

    def record_trace(self, trace_number: str, episode_id: str, payer_id: str, at: datetime) -> None:
        """Keeps trace -> episode from the moment the request is made; a route already
        recorded stays (the projection of `authorization_requested`, in `apply`, overwrites).

        Routes are not part of an episode's projection: a rebuild (delete_episode) keeps them,
        so a decision arriving mid-rebuild still finds its episode.
        """
        ...

    def trace_route(self, trace_number: str) -> TraceRoute | None:
        """The recorded route, else one derived from the projection (as episode_for_trace)."""
        ...

    def recoverable_deliveries(self, limit: int = 100) -> list[InboxEntry]:
        """Unmatched deliveries whose trace number now has a route of the same payer."""
        ...

    def episodes_for_patient(
        self, member_id: str | None = None, patient_name: str | None = None
    ) -> list[str]:
        """Ids of the episodes whose patient has this member id and (or) name, sorted.

        Matched on keyed blind indexes (store/phi.py): member ids ignore case and spaces,
        names ignore case and repeated whitespace; no value given finds nothing.
        """
        ...


class WebhookInbox(Protocol):
    """Payer deliveries kept before they are answered, so none is lost or applied twice."""

    def receive(
        self,
        delivery_id: str,
        payer_id: str,
        content_type: str,
        headers: dict[str, str],
        body: bytes,
        received_at: datetime,
    ) -> tuple[InboxEntry, bool]:
        """The stored entry and whether this call stored it; a repeat never adds a row."""
        ...

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
        """Sets the status; `queued` counts an attempt; only the first response is kept.

        Delivery ids are unique per payer; without `payer_id` the oldest entry of that id is
        meant. `replace_response` lets a re-evaluated unmatched delivery answer anew.
        `audit`, the entry of the request that settled the delivery, is appended to the
        audit log in the same transaction: both are kept, or neither.
        """
        ...

    def get(self, delivery_id: str, payer_id: str | None = None) -> InboxEntry | None: ...

    def due_for_redelivery(self, limit: int = 100) -> list[InboxEntry]: ...

    def remember_signature(
        self, payer_id: str, signature: str, delivery_id: str, seen_at: datetime
    ) -> str:
        """Records a verified signature; returns the delivery id that first carried it."""
        ...

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
        """`remember_signature`, then `receive` unless another delivery carried the signature
        first, in one transaction: (entry or None for such a replay, stored now, first id)."""
        ...

    def claim_signature(self, payer_id: str, signature: str, old: str, new: str) -> bool:
        """Moves a signature from delivery `old` to `new` if `old` still holds it (for a first
        delivery whose inbox row was never written); True when this call moved it."""
        ...

    def forget_signatures(self, before: datetime) -> int:
        """Drops signatures seen before `before` (older than any still-valid timestamp)."""
        ...


class AuditLog(Protocol):
    """An append-only record of authenticated actions."""

    def append(self, entry: AuditEntry) -> None: ...

    def entries(self, episode_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; entries appended at the same instant, the later one first."""
        ...


def encode_cursor(opened_at: datetime, episode_id: str) -> str:
    raw = json.dumps([opened_at.isoformat(), episode_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        opened_at, episode_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        at = datetime.fromisoformat(opened_at)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor(f"not a cursor from this list: {cursor!r}") from exc
    if at.tzinfo is None or not isinstance(episode_id, str):
        raise InvalidCursor(f"not a cursor from this list: {cursor!r}")
    try:
        # Near year 1 or 9999 the instant has no UTC form: no cursor of ours looks like that.
        at.astimezone(UTC)
    except OverflowError:
        raise InvalidCursor(f"not a cursor from this list: {cursor!r}") from None
    return at, episode_id


def urgency(item: WorklistItem) -> tuple[bool, datetime | None, Decimal, str, str, str]:
    """Most urgent first: earliest due; an undated item by its age and value (ranked_at),
    more at stake first on a tie; ties broken so every backend agrees."""
    at = ranked_at(item)
    return (at is None, at, -(item.value or Decimal(0)), item.episode_id, item.kind, item.detail)


def patient_label(data: dict[str, Any]) -> PatientLabel | None:
    """The label in an `episode_opened` event's data, if it has one."""
    patient = data.get("patient")
    if not isinstance(patient, dict) or not patient.get("name"):
        return None
    return PatientLabel(name=str(patient["name"]), member_id=str(patient.get("member_id", "")))


def unmatched_item(entry: InboxEntry) -> WorklistItem:
    # No episode matched, so episode_id is empty; the delivery has waited since it arrived.
    return WorklistItem(
        episode_id=entry.episode_id or "",
        kind="webhook_unmatched",
        due=entry.received_at,
        detail=f"delivery {entry.delivery_id} from payer {entry.payer_id} matched no episode",
        delivery_id=entry.delivery_id,
        delivery_payer_id=entry.payer_id,
    )

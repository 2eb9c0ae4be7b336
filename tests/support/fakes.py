"""In-memory ports for unit tests of the ports; each records what it was given. Production
wiring cannot import this module (tests/test_wiring_imports.py)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from activities.episode import EpisodeActivities
from activities.ports import (
    InvalidRequest,
    Notification,
    OutboundClaim,
    PayerReceipt,
    PayerRequest,
    Purpose,
)
from domain.views import ClaimView, EpisodeSummary, StoredEvent


@dataclass(frozen=True)
class _Rejection:
    trace_number: str | None
    purpose: Purpose | None
    reason: str

    def matches(self, request: PayerRequest) -> bool:
        same_trace = self.trace_number in (None, request.trace_number)
        return same_trace and self.purpose in (None, request.purpose)


class RecordingPayerGateway:
    """Accepts each idempotency key once; repeats come back as duplicates."""

    def __init__(self) -> None:
        # One fake is shared by the worker and the test that inspects it, possibly on
        # different threads, so every read and write takes the lock.
        self._lock = threading.Lock()
        self._attempts: Counter[str] = Counter()
        self._accepted: dict[str, PayerRequest] = {}
        self._rejections: list[_Rejection] = []

    def reject_as_invalid(
        self,
        *,
        trace_number: str | None = None,
        purpose: Purpose | None = None,
        reason: str = "invalid request",
    ) -> None:
        """Refuse matching requests from now on; no filter refuses every request."""
        with self._lock:
            self._rejections.append(_Rejection(trace_number, purpose, reason))

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        with self._lock:
            self._attempts[request.idempotency_key] += 1
            for rejection in self._rejections:
                if rejection.matches(request):
                    raise InvalidRequest(rejection.reason)
            duplicate = request.idempotency_key in self._accepted
            self._accepted.setdefault(request.idempotency_key, request)
        return PayerReceipt(trace_number=request.trace_number, accepted=True, duplicate=duplicate)

    def submissions(self, idempotency_key: str) -> int:
        """How many times a request with this key reached the gateway."""
        with self._lock:
            return self._attempts[idempotency_key]

    @property
    def accepted(self) -> list[PayerRequest]:
        """Distinct requests the payer acted on, in arrival order."""
        with self._lock:
            return list(self._accepted.values())


class RecordingNotifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[Notification] = []
        self._keys: set[tuple[str, str]] = set()

    async def notify(self, notification: Notification) -> None:
        with self._lock:
            if notification.key is not None:
                key = (notification.episode_id, notification.key)
                if key in self._keys:
                    return
                self._keys.add(key)
            self._sent.append(notification)

    @property
    def sent(self) -> list[Notification]:
        with self._lock:
            return list(self._sent)


class RecordingClaimsOutbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[tuple[str, str], OutboundClaim] = {}

    async def deliver(self, claim: OutboundClaim) -> None:
        self.queue(claim)

    def queue(self, claim: OutboundClaim) -> None:
        """Idempotent on (episode_id, claim_id), as the SQL outbox."""
        with self._lock:
            self._claims.setdefault((claim.episode_id, claim.claim_id), claim)

    @property
    def delivered(self) -> list[OutboundClaim]:
        with self._lock:
            return list(self._claims.values())


class RecordingReadModel:
    """Keeps the newest summary per episode and each event once per (episode_id, seq); like
    the SQL read model, hands each released claim to `outbox` with its projection."""

    def __init__(self, outbox: RecordingClaimsOutbox | None = None) -> None:
        self.outbox = outbox
        self._lock = threading.Lock()
        self.summaries: dict[str, EpisodeSummary] = {}
        self.events: dict[tuple[str, int], StoredEvent] = {}
        self.claims: dict[tuple[str, str], ClaimView] = {}

    def apply(
        self, summary: EpisodeSummary, events: list[StoredEvent], claims: list[ClaimView]
    ) -> int:
        """Return how many of `events` were new."""
        episode = summary.episode_id
        with self._lock:
            current = self.summaries.get(episode)
            # A retried older batch must not roll the summary back.
            if current is None or current.version <= summary.version:
                self.summaries[episode] = summary
            new = [e for e in events if (episode, e.seq) not in self.events]
            self.events.update({(episode, e.seq): e for e in new})
            self.claims.update({(episode, c.claim_id): c for c in claims})
        for event in events:
            if self.outbox is not None and event.type == "claim_released":
                claim_id, claim = event.data["claim_id"], event.data["claim"]
                self.outbox.queue(OutboundClaim(episode_id=episode, claim_id=claim_id, claim=claim))
        return len(new)


@dataclass
class FakePorts:
    """One of each fake, kept together so a test can build activities and then inspect them."""

    payer_gateway: RecordingPayerGateway = field(default_factory=RecordingPayerGateway)
    read_model: RecordingReadModel = field(default_factory=RecordingReadModel)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    outbox: RecordingClaimsOutbox = field(default_factory=RecordingClaimsOutbox)

    def __post_init__(self) -> None:
        self.read_model.outbox = self.outbox

    def activities(self) -> EpisodeActivities:
        return EpisodeActivities(self.payer_gateway, self.read_model, self.notifier, self.outbox)

"""Failed-attempt throttles: after `limit` failures within `window` seconds, a key waits.

Kept in the API process's memory: each replica counts its own attempts, so with N replicas
an attacker gets at most N times the limit; a restart forgets. Counting in the database
would close both gaps at the price of a write per failure — worth it once there are
replicas behind a load balancer without sticky addresses.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Past this many keys, keys with no recent failure are forgotten first (bounded memory).
MAX_KEYS = 10_000


@dataclass
class Throttle:
    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    # Sync dependencies run in FastAPI's thread pool: one count at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, key: str) -> int | None:
        """Seconds `key` must wait before trying again, or None when it may try now."""
        with self._lock:
            return self._wait(key)

    def fail(self, key: str) -> int | None:
        """Counts a failure; returns the wait this failure started, if it reached the limit."""
        with self._lock:
            if key not in self._failures and len(self._failures) >= MAX_KEYS:
                self._forget_quiet()
            self._failures.setdefault(key, deque(maxlen=self.limit)).append(self.clock())
            return self._wait(key)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _wait(self, key: str) -> int | None:
        failures = self._recent(key)
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window - self.clock()))

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def _forget_quiet(self) -> None:
        for key in [k for k in self._failures if not self._recent(k)]:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))


@dataclass
class Throttles:
    """The API's three throttles: console sign-ins per account and per address, and
    bearer tokens per address (issue 14: repeated bad tokens get 429 after a threshold)."""

    signin_account: Throttle
    signin_address: Throttle
    bearer_address: Throttle

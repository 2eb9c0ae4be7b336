"""Failed-attempt throttles: after `limit` failures in a key's window, the key waits.

Counted in the database (store/throttles.py), so every API replica sees every failure and
a restart forgets none. A key's window opens at its first failure and lasts `window`
seconds; the failure that reaches `limit` makes the key wait until that window ends, then
it starts again from nothing. (A fixed window: a patient guesser gets at most twice the
limit across a window boundary, never more.) Times come from the app's clock (`ApiDeps.clock`),
which replicas keep in step as they keep any clock (NTP).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store.throttles import ThrottleCounts, Window


@dataclass
class Throttle:
    scope: str
    limit: int
    window: float
    counts: ThrottleCounts
    clock: Callable[[], datetime]

    def retry_after(self, key: str) -> int | None:
        """Seconds `key` must wait before trying again, or None when it may try now."""
        now = self.clock().timestamp()
        return self._wait(self.counts.window(self.scope, key, self.window, now), now)

    def fail(self, key: str) -> int | None:
        """Counts a failure; returns the wait this failure started, if it reached the limit."""
        now = self.clock().timestamp()
        return self._wait(self.counts.fail(self.scope, key, self.window, now), now)

    def clear(self, key: str) -> None:
        self.counts.clear(self.scope, key)

    def _wait(self, window: Window | None, now: float) -> int | None:
        if window is None or window.failures < self.limit:
            return None
        return max(1, math.ceil(window.started_at + self.window - now))


@dataclass
class Throttles:
    """The API's three throttles: console sign-ins per account and per address, and
    bearer tokens per address (issue 14: repeated bad tokens get 429 after a threshold)."""

    signin_account: Throttle
    signin_address: Throttle
    bearer_address: Throttle

"""Failed-attempt throttles: after `limit` failures in a key's window, the key waits.

Counted in the database (store/throttles.py), so every API replica sees every failure and
a restart forgets none. A key's window opens at its first failure and lasts `window`
seconds; the failure that reaches `limit` makes the key wait until that window ends, then
it starts again from nothing. (A fixed window: a patient guesser gets at most twice the
limit across a window boundary, never more.) Times come from the app's clock (`ApiDeps.clock`),
which replicas keep in step as they keep any clock (NTP).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from store.throttles import MemoryThrottleCounts, ThrottleCounts, Window

T = TypeVar("T")
log = logging.getLogger("stepdown.api")


@dataclass
class Throttle:
    scope: str
    limit: int
    window: float
    counts: ThrottleCounts
    clock: Callable[[], datetime]
    # While the database does not answer, this process counts on its own: intake and ops
    # need Temporal, not the database, and must not stop with it (tests/faults).
    fallback: ThrottleCounts = field(default_factory=MemoryThrottleCounts)

    def retry_after(self, key: str) -> int | None:
        """Seconds `key` must wait before trying again, or None when it may try now."""
        now = self.clock().timestamp()
        return self._wait(self._counted(lambda c: c.window(self.scope, key, self.window, now)), now)

    def fail(self, key: str) -> int | None:
        """Counts a failure; returns the wait this failure started, if it reached the limit."""
        now = self.clock().timestamp()
        return self._wait(self._counted(lambda c: c.fail(self.scope, key, self.window, now)), now)

    def clear(self, key: str) -> None:
        self._counted(lambda c: c.clear(self.scope, key))

    def _counted(self, call: Callable[[ThrottleCounts], T]) -> T:
        try:
            return call(self.counts)
        except SQLAlchemyError as err:
            log.warning(
                "throttle counts unavailable (%s); counting in this process", type(err).__name__
            )
            return call(self.fallback)

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

"""Throttle counts in SQLite and PostgreSQL (and the in-memory fallback): windows, the wait,
two replicas' engines on one database, and failures from many threads at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.throttle import Throttle
from store.db import make_engine
from store.schema import ThrottleWindowRow
from store.throttles import MemoryThrottleCounts, SqlThrottleCounts, ThrottleCounts
from tests.support.db import DATABASES, database_url, migrated_database

__all__ = ["database_url"]

WINDOW = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[SqlThrottleCounts, SqlThrottleCounts]]:
    """Two stores with an engine each on the same database, as two API replicas have."""
    first, second = make_engine(database_url), make_engine(database_url)
    try:
        yield SqlThrottleCounts(first), SqlThrottleCounts(second)
    finally:
        first.dispose()
        second.dispose()


def throttle(counts: ThrottleCounts, clock: Clock, limit: int = 3) -> Throttle:
    return Throttle("signin_account", limit, WINDOW, counts, clock)


@pytest.fixture(params=["memory", *DATABASES])
def counts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrottleCounts]:
    if request.param == "memory":
        yield MemoryThrottleCounts()
        return
    with migrated_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield SqlThrottleCounts(engine)
        finally:
            engine.dispose()


def test_the_failure_that_reaches_the_limit_starts_the_wait_to_the_window_end(
    counts: ThrottleCounts,
) -> None:
    clock = Clock()
    gate = throttle(counts, clock)

    first = gate.fail("user:dana")
    clock.now += timedelta(seconds=10)
    second = gate.fail("user:dana")
    before = gate.retry_after("user:dana")
    clock.now += timedelta(seconds=10)
    third = gate.fail("user:dana")
    clock.now += timedelta(seconds=15)
    waiting = gate.retry_after("user:dana")

    assert (first, second, before) == (None, None, None)
    assert third == 40  # the window opened at the first failure, 20 s before
    assert waiting == 25
    assert gate.retry_after("user:other") is None  # keys are counted apart


def test_after_the_window_the_key_starts_again_from_nothing(counts: ThrottleCounts) -> None:
    clock = Clock()
    gate = throttle(counts, clock)
    for _ in range(3):
        gate.fail("10.0.0.1")

    clock.now += timedelta(seconds=WINDOW)
    free = gate.retry_after("10.0.0.1")
    again = [gate.fail("10.0.0.1") for _ in range(2)]

    assert free is None
    assert again == [None, None]  # a new window: two failures are below the limit of 3


def test_clear_forgets_a_key_and_scopes_are_apart(counts: ThrottleCounts) -> None:
    clock = Clock()
    accounts, addresses = (
        throttle(counts, clock),
        Throttle("signin_address", 3, WINDOW, counts, clock),
    )
    for _ in range(3):
        accounts.fail("dana")

    blocked_account = accounts.retry_after("dana")
    same_key_other_scope = addresses.retry_after("dana")
    accounts.clear("dana")

    assert blocked_account is not None
    assert same_key_other_scope is None
    assert accounts.retry_after("dana") is None


def test_two_replicas_count_one_key_together(
    replicas: tuple[SqlThrottleCounts, SqlThrottleCounts],
) -> None:
    clock = Clock()
    first, second = (throttle(counts, clock) for counts in replicas)

    waits = [first.fail("10.0.0.9"), second.fail("10.0.0.9"), first.fail("10.0.0.9")]

    assert waits[:2] == [None, None]
    assert waits[2] == WINDOW
    assert second.retry_after("10.0.0.9") == WINDOW  # the other replica sees the wait
    second.clear("10.0.0.9")  # a sign-in on one replica clears the account for both
    assert first.retry_after("10.0.0.9") is None


def test_failures_at_once_from_many_threads_lose_no_count(
    replicas: tuple[SqlThrottleCounts, SqlThrottleCounts],
) -> None:
    clock = Clock()
    gates = [throttle(counts, clock, limit=1000) for counts in replicas]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: gates[n % 2].fail("10.0.0.5"), range(40)))

    window = replicas[0].window("signin_account", "10.0.0.5", WINDOW, clock().timestamp())
    assert window is not None and window.failures == 40


def test_the_table_keeps_hashes_not_addresses_and_forgets_ended_windows(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        clock, counts = Clock(), SqlThrottleCounts(engine)
        gate = throttle(counts, clock)
        gate.fail("203.0.113.7")
        clock.now += timedelta(seconds=WINDOW + 1)
        gate.fail("198.51.100.4")  # opens a window: ended ones of the scope are deleted
        with engine.connect() as connection:
            keys = connection.execute(select(ThrottleWindowRow.key_hash)).scalars().all()
            rows = connection.execute(select(func.count()).select_from(ThrottleWindowRow))
            count = rows.scalar_one()
    finally:
        engine.dispose()

    assert count == 1
    assert all("203.0.113.7" not in k and "198.51.100.4" not in k for k in keys)
    assert len(keys[0]) == 64

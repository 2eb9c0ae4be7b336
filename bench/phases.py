"""Sizes of a run (full or quick) and the progress bar each phase of it advances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.progress import Progress

from bench.drive import Tick

# Fewest requests a rate is measured with, so its p99 is not just its maximum.
MIN_SAMPLES = 30


@dataclass(frozen=True)
class Sizes:
    concurrency: int = 8
    duration: float = 8.0
    updates: int = 200
    rates: tuple[float, ...] = (10.0, 50.0, 100.0)
    rate_seconds: float = 1.0
    lag_episodes: int = 4
    lag_updates: int = 40
    claims_per_episode: int = 12
    months: tuple[int, ...] = (1, 3, 6, 12)
    replays: int = 3
    cached: int = 200


QUICK = Sizes(
    concurrency=4,
    duration=1.5,
    updates=20,
    rates=(5.0, 10.0),
    rate_seconds=1.0,
    lag_episodes=2,
    lag_updates=4,
    claims_per_episode=5,
    months=(1, 2),
    replays=1,
    cached=10,
)


class Phases:
    """One progress bar per phase; a phase with no known total counts up."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    @contextmanager
    def phase(self, label: str, total: float | None = None) -> Iterator[Tick]:
        if self._progress is None:
            yield lambda: None
            return
        progress, done = self._progress, [0]
        task = progress.add_task(label, total=total)

        def tick() -> None:
            done[0] += 1
            progress.advance(task)

        try:
            yield tick
        finally:
            # A phase that stopped on time rather than on a count still ends full.
            progress.update(task, total=max(done[0], 1), completed=max(done[0], 1))

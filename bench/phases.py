"""Sizes of a run (full or quick) and the progress bar each phase of it advances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.progress import Progress

from bench.drive import Tick

# Fewest requests a rate is measured with, so its p99 is not just its maximum.
MIN_SAMPLES = 60


@dataclass(frozen=True)
class Sizes:
    concurrency: int = 8
    duration: float = 8.0
    updates: int = 200
    lag_episodes: int = 4
    lag_updates: int = 40
    months: tuple[int, ...] = (1, 3, 6, 12)
    replays: int = 3
    cached: int = 200
    # Load curves (bench/curves.py): the first rate of each ramp, the ramp's factor, its
    # most steps and bisections, each step's length, and each fixed-rate load's length.
    ramp_start: dict[str, float] = field(
        default_factory=lambda: {"noop": 10.0, "decision": 2.0, "claim": 2.0}
    )
    ramp_factor: float = 1.5
    ramp_steps: int = 12
    ramp_refine: int = 2
    step_seconds: float = 4.0
    fixed_seconds: float = 15.0
    min_samples: int = MIN_SAMPLES
    # Fewest requests of a ramp step (a step is judged on its thirds).
    step_min_samples: int = 12


QUICK = Sizes(
    concurrency=4,
    duration=1.5,
    updates=20,
    lag_episodes=2,
    lag_updates=4,
    months=(1, 2),
    replays=1,
    cached=10,
    ramp_start={"noop": 4.0, "decision": 2.0, "claim": 2.0},
    ramp_factor=2.0,
    ramp_steps=2,
    ramp_refine=0,
    step_seconds=1.0,
    fixed_seconds=1.0,
    min_samples=4,
    step_min_samples=4,
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

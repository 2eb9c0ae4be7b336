"""Load shapes: a closed loop at fixed concurrency, an open loop at a steady rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Tick = Callable[[], None]


@dataclass
class LoopRun:
    """What one loop did: results in completion order, latencies in seconds, wall time."""

    results: list[Any] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    # (seconds from the loop's start to the operation's start, latency), completion order.
    samples: list[tuple[float, float]] = field(default_factory=list)
    began: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.results) / self.wall if self.wall else 0.0


async def _timed(run: LoopRun, op: Callable[[], Awaitable[Any]], tick: Tick) -> None:
    began = time.perf_counter()
    try:
        result = await op()
    except Exception as err:  # a failed operation is counted, never fatal to the figure
        run.errors.append(f"{type(err).__name__}: {err}")
        return
    latency = time.perf_counter() - began
    run.latencies.append(latency)
    run.samples.append((began - run.began, latency))
    run.results.append(result)
    tick()


async def closed_loop(
    op: Callable[[], Awaitable[Any]], concurrency: int, duration: float, tick: Tick = lambda: None
) -> LoopRun:
    """`concurrency` lanes each run `op` back to back until `duration` has passed."""
    run = LoopRun()
    stop_at = time.perf_counter() + duration

    async def lane() -> None:
        while time.perf_counter() < stop_at:
            await _timed(run, op, tick)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    run.wall = time.perf_counter() - began
    return run


async def open_loop(
    op: Callable[[int], Awaitable[Any]], rate: float, count: int, tick: Tick = lambda: None
) -> LoopRun:
    """Starts `op(i)` at a steady `rate` per second, `count` times, whatever the answers do."""
    run = LoopRun()
    began = run.began = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(run, lambda i=i: op(i), tick)))
    await asyncio.gather(*tasks)
    run.wall = time.perf_counter() - began
    return run

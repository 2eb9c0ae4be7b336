"""Figures 3 and 4 as load curves: the highest rate each operation sustains, then latency and
CPU per operation at fixed offered rates below the decision path's maximum.

Operations: the no-op update (a Temporal update on a running no-op workflow, from the bench's
client), a payer decision through the API's signed webhook (POST, then the episode's view once
it shows the decision, unless the webhook's answer carries it), and a claim release through
the API. Every load is an open loop: requests start on a fixed schedule whatever the answers
do, so a stack that falls behind shows as growing latency and a late finish, not as a lower
offered rate (bench/drive.py).

Maximum sustained rate: a ramp of open-loop steps, each `step_seconds` long, the rate
multiplied by `factor` after every step the stack sustained (`sustained` below), then
`refine` bisections between the last sustained and the first failed rate. The figure is the
highest sustained offered rate; if the ramp never failed it is a floor (details say so).

Fixed rates: 25 %, 50 % and 75 % of the decision maximum; at each, the no-op update, the
decision and the claim release in turn, in the same run, each for `fixed_seconds`. CPU per
operation per process (API, worker, Temporal server) is utime + stime from /proc/<pid>/stat
before and after each load, divided by the completed operations. The no-op update does not
pass through the API: its total is worker + server (the API's idle CPU in that load is kept
in the details).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from bench.api_figures import decide, release
from bench.api_setup import authorized, opened_and_projected, with_services
from bench.drive import LoopRun, Tick, open_loop
from bench.episodes import LIFECYCLE_DAYS
from bench.latency import Holders
from bench.procs import Process
from bench.stats import percentile

Op = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Ramp:
    """How the maximum sustained rate is searched for."""

    start: float
    factor: float = 1.5
    max_steps: int = 12
    refine: int = 2
    step_seconds: float = 4.0
    pause: float = 1.0  # between steps, so one step's stragglers do not load the next


@dataclass(frozen=True)
class Sustain:
    """When a step counts as sustained: every request answered without error; completions
    per second over the step (its last answer included) at least `keep_up` of the offered
    rate; p99 at most `latency_factor` × the first step's p50 (floor `latency_floor_ms`);
    and no backlog building up: the p99 of the last third of the requests (by start time) at
    most `growth` × that of the first third plus `growth_slack_ms`."""

    keep_up: float = 0.9
    latency_factor: float = 10.0
    latency_floor_ms: float = 100.0
    growth: float = 2.0
    growth_slack_ms: float = 10.0


@dataclass(frozen=True)
class Step:
    """One open-loop load at `offered` per second; latencies in milliseconds."""

    offered: float
    count: int
    completed: int
    errors: int
    wall: float
    p50: float
    p99: float
    p99_first_third: float
    p99_last_third: float

    @property
    def achieved(self) -> float:
        return self.completed / self.wall if self.wall else 0.0

    @classmethod
    def of(cls, offered: float, count: int, run: LoopRun) -> Step:
        ms = [latency * 1000 for _, latency in sorted(run.samples)]
        third = max(1, len(ms) // 3)
        return cls(
            offered=offered,
            count=count,
            completed=len(run.results),
            errors=len(run.errors),
            wall=run.wall,
            p50=percentile(ms, 50),
            p99=percentile(ms, 99),
            p99_first_third=percentile(ms[:third], 99),
            p99_last_third=percentile(ms[-third:], 99),
        )


def sustained(step: Step, unloaded_p50: float, rules: Sustain) -> tuple[bool, str]:
    """Whether the stack kept up with `step`, and why not when it did not."""
    if step.errors or step.completed < step.count:
        return False, f"{step.errors} errors, {step.completed}/{step.count} answered"
    if step.achieved < rules.keep_up * step.offered:
        return False, f"{step.achieved:.1f}/s completed of {step.offered:.1f}/s offered"
    bound = max(rules.latency_floor_ms, rules.latency_factor * unloaded_p50)
    if not step.p99 <= bound:
        return False, f"p99 {step.p99:.0f} ms over {bound:.0f} ms"
    growing = rules.growth * step.p99_first_third + rules.growth_slack_ms
    if not step.p99_last_third <= growing:
        return False, (
            f"latency growing: p99 {step.p99_first_third:.0f} ms first third, "
            f"{step.p99_last_third:.0f} ms last third"
        )
    return True, ""


@dataclass
class MaxRate:
    """The highest sustained offered rate; `ceiling` when the ramp never failed (a floor)."""

    per_second: float
    first_failed: float | None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ceiling(self) -> bool:
        return self.first_failed is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_per_s": self.per_second,
            "first_failed_per_s": self.first_failed,
            "ramp_never_failed": self.ceiling,
            "steps": self.steps,
        }


StepRunner = Callable[[float], Awaitable[Step]]


async def find_max(run_step: StepRunner, ramp: Ramp, rules: Sustain) -> MaxRate:
    """Ramp up until a step is not sustained, then bisect (geometrically) `refine` times."""
    good, bad, unloaded = 0.0, None, math.nan
    found = MaxRate(0.0, None)

    async def attempt(rate: float) -> bool:
        nonlocal unloaded
        if found.steps:
            await asyncio.sleep(ramp.pause)
        step = await run_step(rate)
        if math.isnan(unloaded):
            unloaded = step.p50
        ok, why = sustained(step, unloaded, rules)
        found.steps.append(asdict(step) | {"sustained": ok, "why_not": why})
        return ok

    rate = ramp.start
    for _ in range(ramp.max_steps):
        if not await attempt(rate):
            bad = rate
            break
        good, rate = rate, rate * ramp.factor
    for _ in range(ramp.refine if bad is not None and good > 0 else 0):
        assert bad is not None
        middle = math.sqrt(good * bad)
        if await attempt(middle):
            good = middle
        else:
            bad = middle
    found.per_second, found.first_failed = good, bad
    return found


class Operation(Protocol):
    name: str

    async def prepare(self, count: int) -> list[Op]:
        """`count` operations ready to run (set-up is not timed)."""
        ...


@dataclass
class NoopUpdates:
    holders: Holders
    name: str = "noop"

    async def prepare(self, count: int) -> list[Op]:
        return [partial(self.holders.ping, i) for i in range(count)]


@dataclass
class Decisions:
    """Signed A1 decisions through the API, each for a fresh episode awaiting its first
    decision; the decided episodes go on to the claim releases."""

    client: Client
    queue: str
    read_model: Engine
    http: httpx.AsyncClient
    decided: list[str] = field(default_factory=list)
    name: str = "decision"

    async def prepare(self, count: int) -> list[Op]:
        ids = await opened_and_projected(
            self.client, self.queue, self.read_model, count, lambda: None
        )
        start = datetime.now(UTC) - timedelta(days=LIFECYCLE_DAYS)
        return [partial(self._decide, episode_id, start) for episode_id in ids]

    async def _decide(self, episode_id: str, start: datetime) -> None:
        await decide(self.http, episode_id, start)
        self.decided.append(episode_id)  # only an episode whose decision showed


@dataclass
class ClaimReleases:
    """Claim releases through the API: `days` one-service days on each authorized episode
    (episodes decided earlier in the run, or approved straight through Temporal)."""

    client: Client
    queue: str
    http: httpx.AsyncClient
    decided: list[str]
    days: int = 4
    name: str = "claim"

    async def prepare(self, count: int) -> list[Op]:
        episodes = math.ceil(count / self.days)
        taken, self.decided[:episodes] = self.decided[:episodes], []
        if len(taken) < episodes:
            taken += await authorized(self.client, self.queue, episodes - len(taken))
        claims = await with_services(self.client, taken, self.days)
        return [partial(release, self.http, *claim) for claim in claims[:count]]


def samples(rate: float, seconds: float, least: int) -> int:
    return max(least, math.ceil(rate * seconds))


async def run_step(op: Operation, rate: float, seconds: float, least: int, tick: Tick) -> Step:
    count = samples(rate, seconds, least)
    ops = await op.prepare(count)
    run = await open_loop(lambda i: ops[i](), rate, count, tick)
    return Step.of(rate, count, run)


Processes = dict[str, Process]


def cpu_seconds(processes: Processes) -> dict[str, float]:
    return {name: p.cpu_seconds() for name, p in processes.items()}


@dataclass(frozen=True)
class Measured:
    """One operation at one fixed offered rate."""

    step: Step
    cpu_ms: dict[str, float]  # per completed operation, per process

    def total_cpu_ms(self, processes: tuple[str, ...]) -> float:
        return sum(self.cpu_ms[name] for name in processes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.step) | {"achieved": self.step.achieved, "cpu_ms_per_op": self.cpu_ms}


async def at_rate(
    op: Operation, rate: float, seconds: float, least: int, processes: Processes, tick: Tick
) -> Measured:
    count = samples(rate, seconds, least)
    ops = await op.prepare(count)
    before = cpu_seconds(processes)
    run = await open_loop(lambda i: ops[i](), rate, count, tick)
    after = cpu_seconds(processes)
    done = max(len(run.results), 1)
    cpu = {name: 1000 * (after[name] - before[name]) / done for name in processes}
    return Measured(Step.of(rate, count, run), cpu)

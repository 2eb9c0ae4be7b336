"""The ramp that finds a maximum sustained rate, on a synthetic stack of known capacity."""

from __future__ import annotations

import math

import pytest

from bench.curves import Ramp, Step, Sustain, find_max, sustained
from bench.drive import LoopRun

RULES = Sustain()


def test_a_step_the_stack_keeps_up_with_is_sustained() -> None:
    ok, why = sustained(Step(10, 40, 40, 0, 4.0, 20, 40, 40, 42), 20, RULES)
    assert ok and why == ""


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Step(10, 40, 39, 1, 4.0, 20, 40, 40, 40), "errors"),
        (Step(10, 40, 40, 0, 6.0, 20, 40, 40, 40), "completed of"),
        (Step(10, 40, 40, 0, 4.0, 20, 250, 40, 250), "over"),
        (Step(10, 40, 40, 0, 4.0, 20, 90, 20, 90), "growing"),
    ],
)
def test_a_step_falling_behind_is_not_sustained(step: Step, reason: str) -> None:
    ok, why = sustained(step, 20, RULES)
    assert not ok and reason in why


def test_step_thirds_follow_start_order_not_completion_order() -> None:
    run = LoopRun(wall=1.0)
    # Started 0..5; the early ones answered slowly, the late ones fast.
    for start, latency in [(0.5, 0.001), (0.4, 0.001), (0.0, 0.1), (0.1, 0.1), (0.2, 0.05),
                           (0.3, 0.05)]:  # fmt: skip
        run.samples.append((start, latency))
        run.latencies.append(latency)
        run.results.append(None)
    step = Step.of(6.0, 6, run)
    assert step.p99_first_third == pytest.approx(100)
    assert step.p99_last_third == pytest.approx(1)
    assert step.achieved == 6.0


def capacity_stack(capacity: float):  # type: ignore[no-untyped-def]
    """A stack that answers in 10 ms up to `capacity`/s and falls behind past it."""
    offered: list[float] = []

    async def run_step(rate: float) -> Step:
        offered.append(rate)
        if rate <= capacity:
            return Step(rate, 40, 40, 0, 40 / rate + 0.01, 10, 12, 12, 12)
        late = 40 / capacity
        return Step(rate, 40, 40, 0, late, 10, 1000 * late, 12, 1000 * late)

    return run_step, offered


async def test_the_ramp_finds_the_capacity_within_its_resolution() -> None:
    run_step, offered = capacity_stack(27.0)
    found = await find_max(run_step, Ramp(start=2.0, factor=1.5, refine=2, pause=0), RULES)
    assert 27.0 / 1.5**0.25 <= found.per_second <= 27.0
    assert found.first_failed is not None and found.first_failed > 27.0
    assert not found.ceiling
    assert offered[:3] == [2.0, 3.0, 4.5]
    assert [s["sustained"] for s in found.steps].count(False) >= 1
    assert all(s["why_not"] for s in found.steps if not s["sustained"])


async def test_a_ramp_that_never_fails_reports_a_floor() -> None:
    run_step, offered = capacity_stack(math.inf)
    found = await find_max(run_step, Ramp(start=1.0, factor=2.0, max_steps=4, pause=0), RULES)
    assert found.per_second == 8.0 and found.ceiling and len(offered) == 4


async def test_a_stack_failing_the_first_step_has_no_maximum() -> None:
    run_step, _ = capacity_stack(0.5)
    found = await find_max(run_step, Ramp(start=1.0, refine=3, pause=0), RULES)
    assert found.per_second == 0.0 and found.first_failed == 1.0 and len(found.steps) == 1

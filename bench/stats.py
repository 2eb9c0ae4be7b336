"""Percentiles, rates and ratios: the arithmetic every figure shares."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p99 in milliseconds plus the sample count."""
    ms = [s * 1000 for s in seconds]
    return {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "n": float(len(ms))}


def ratio(value: float, baseline: float) -> float:
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline


def spread(values: Sequence[float]) -> float:
    """Largest relative deviation from the first value (0.2 means ±20 %)."""
    if not values or not values[0]:
        return math.nan
    return max(abs(v - values[0]) / values[0] for v in values)

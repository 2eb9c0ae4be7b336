"""A row's status comes from its numbers: every target of the performance issue, fed numbers
that miss it, says `missed`; numbers within it say `met` (no row passes whatever it holds)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.__main__ import BUDGET_SECONDS, MAX_RUN_BYTES, budget_row, growth_rows
from bench.curve_figures import rows as curve_rows
from bench.curves import MaxRate, Measured, Step
from bench.report import TARGETS, Results, Row, judge
from bench.scale import Sample, Settings, scale_rows


@pytest.mark.parametrize(
    ("number", "kind", "target", "status"),
    [
        (2.0, "at_most", 2.0, "met"),
        (2.01, "at_most", 2.0, "missed"),
        (0.25, "at_least", 0.25, "met"),
        (0.24, "at_least", 0.25, "missed"),
        (1.2, "flat", 0.2, "met"),
        (0.8, "flat", 0.2, "met"),
        (1.21, "flat", 0.2, "missed"),
        (0.79, "flat", 0.2, "missed"),
        (math.nan, "at_most", 2.0, "n/a"),
        (None, "at_least", 0.25, "n/a"),
    ],
)
def test_judge_compares_the_number_with_the_target(
    number: float | None, kind: str, target: float, status: str
) -> None:
    assert judge(number, kind, target) == status  # type: ignore[arg-type]


def test_a_ratio_target_reads_the_ratio_and_a_value_target_the_value() -> None:
    slow = Row("3", "x", "s", 30.0, "ms", 10.0, "base", "at_most", 2.0)
    assert slow.ratio == 3.0 and slow.status == "missed"
    fast = Row("3", "x", "s", 15.0, "ms", 10.0, "base", "at_most", 2.0)
    assert fast.status == "met"
    big = Row("6", "bytes", "s", 120_000, "B", 1.0, "base", "at_most", 100_000, "value")
    assert big.ratio == 120_000 and big.status == "missed"
    small = Row("6", "bytes", "s", 99_000, "B", 200_000, "base", "at_most", 100_000, "value")
    assert small.ratio is not None and small.ratio < 1 and small.status == "met"
    assert Row("1", "x", "s", 5.0, "ms").status == "info"
    assert Row("1", "x", "s", None, "ms", key="k").status == "not_run"
    assert Row("3", "x", "s", 5.0, "ms", math.nan, "base", "at_most", 2.0).status == "n/a"


def step(p50: float, p99: float, offered: float = 10.0) -> Step:
    return Step(offered, 100, 100, 0, 10.0, p50, p99, p99, p99)


def measured(p50: float, p99: float, cpu: dict[str, float]) -> Measured:
    return Measured(step(p50, p99), cpu)


NOOP_CPU = {"api": 0.5, "worker": 2.0, "server": 2.0}  # worker + server: 4 ms


def curves(
    decision_p99: float, claim_p99: float, decision_cpu: float, decision_max: float
) -> dict[str, Row]:
    """The curve rows of one synthetic run (no-op p99 10 ms, max 100/s), by key."""
    maxima = {
        "noop": MaxRate(100.0, 150.0),
        "decision": MaxRate(decision_max, decision_max * 1.5),
        "claim": MaxRate(30.0, None),
    }
    cpu = {"api": decision_cpu / 3, "worker": decision_cpu / 3, "server": decision_cpu / 3}
    fixed = {
        f: {
            "noop": measured(5.0, 10.0, NOOP_CPU),
            "decision": measured(20.0, decision_p99, cpu),
            "claim": measured(8.0, claim_p99, cpu),
        }
        for f in (0.25, 0.5, 0.75)
    }
    return {r.key: r for r in curve_rows("sqlite", maxima, fixed) if r.key}


def test_curve_targets_met_when_the_numbers_are_within_them() -> None:
    found = curves(decision_p99=19.0, claim_p99=14.0, decision_cpu=15.0, decision_max=30.0)
    assert {k: r.status for k, r in found.items()} == {
        "max_decision_ratio": "met",  # 30 / 100 ≥ 0.25
        "decision_p99_ratio": "met",  # 19 / 10 ≤ 2
        "claim_p99_ratio": "met",  # 14 / 10 ≤ 1.5
        "decision_cpu_ratio": "met",  # 15 / 4 ≤ 4
    }


def test_curve_targets_missed_when_the_numbers_miss_them() -> None:
    # The review's figures: p99 3.4× the no-op's, max 0.05×, CPU 12×, claims 1.8×.
    found = curves(decision_p99=34.0, claim_p99=18.0, decision_cpu=48.0, decision_max=5.0)
    assert {k: r.status for k, r in found.items()} == {
        "max_decision_ratio": "missed",
        "decision_p99_ratio": "missed",
        "claim_p99_ratio": "missed",
        "decision_cpu_ratio": "missed",
    }
    assert found["decision_cpu_ratio"].ratio == pytest.approx(12.0)


def test_only_the_half_of_maximum_rows_carry_the_latency_targets() -> None:
    maxima = {"noop": MaxRate(100, 150), "decision": MaxRate(20, 30), "claim": MaxRate(20, 30)}
    fixed = {
        f: {n: measured(5, 10, NOOP_CPU) for n in ("noop", "decision", "claim")}
        for f in (0.25, 0.5, 0.75)
    }
    targeted = [r.name for r in curve_rows("m", maxima, fixed) if r.target is not None]
    assert "decision p99 at 50% of decision max" in targeted
    assert "decision p99 at 25% of decision max" not in targeted
    assert "claim release p99 at 75% of decision max" not in targeted


def test_a_maximum_the_ramp_never_bounded_is_noted_as_a_floor() -> None:
    maxima = {"noop": MaxRate(100, None), "decision": MaxRate(20, 30), "claim": MaxRate(20, 30)}
    fixed = {0.5: {n: measured(5, 10, NOOP_CPU) for n in ("noop", "decision", "claim")}}
    by_name = {r.name: r for r in curve_rows("m", maxima, fixed)}
    assert "floor" in by_name["max sustained no-op updates/s"].note
    assert by_name["max sustained decisions/s"].note == ""


def growth(events_3: float, events_12: float, bytes_12: float) -> dict[str, dict[str, float]]:
    def run(events: float, size: float) -> dict[str, float]:
        return {"events_per_run_max": events, "replay_ms_per_run_max": 10.0,
                "bytes_per_run_max": size}  # fmt: skip

    return {"1mo": run(100, 30_000), "3mo": run(events_3, 60_000), "6mo": run(events_3, 60_000),
            "12mo": run(events_12, bytes_12)}  # fmt: skip


def test_history_rows_compare_from_three_months_and_bound_bytes() -> None:
    ok = {r.key: r for r in growth_rows((1, 3, 6, 12), growth(230, 240, 90_000)) if r.key}
    assert ok["history_events_flat"].baseline == 230
    assert ok["history_events_flat"].status == "met"
    assert ok["history_bytes"].status == "met"
    bad = {r.key: r for r in growth_rows((1, 3, 6, 12), growth(230, 300, MAX_RUN_BYTES + 1))
           if r.key}  # fmt: skip
    assert bad["history_events_flat"].status == "missed"  # 300 / 230 = 1.30
    assert bad["history_bytes"].status == "missed"


def scale(worker_growth: float, decision: float, worklist: float, search: float) -> dict[str, Row]:
    settings = Settings(10_000, 100, 1000, 200, 5.0, 200)
    samples = [
        Sample(100, 100_000, 200_000, 10**6),
        Sample(2500, 150_000, 300_000, 10**8),
        Sample(5000, 150_000, 400_000, 2 * 10**8),
        Sample(10_000, int(150_000 * worker_growth), 600_000, 4 * 10**8),
    ]
    few = {"decision_ms": {"p50": 20, "p99": 40}, "worklist_ms": {"p50": 5, "p99": 10},
           "search_ms": {"p50": 4, "p99": 8}}  # fmt: skip
    many = {
        "decision_ms": {"p50": 20, "p99": 40 * decision},
        "worklist_ms": {"p50": 5, "p99": 10 * worklist},
        "search_ms": {"p50": 4, "p99": 8 * search},
    }
    rows = scale_rows(settings, samples, {100: few, 10_000: many})
    return {r.key or r.name: r for r in rows}


def test_scale_targets_follow_the_numbers() -> None:
    good = scale(worker_growth=1.1, decision=1.4, worklist=1.9, search=1.0)
    assert good["scale_worker_rss_flat"].baseline == 150_000  # at 2 500 open, past the cache
    assert {k: good[k].status for k in good if k.startswith("scale_")} == dict.fromkeys(
        ("scale_worker_rss_flat", "scale_decision_p99_ratio", "scale_worklist_p99_ratio",
         "scale_search_p99_ratio"), "met")  # fmt: skip
    bad = scale(worker_growth=1.5, decision=1.6, worklist=2.5, search=3.0)
    assert {k: bad[k].status for k in bad if k.startswith("scale_")} == dict.fromkeys(
        ("scale_worker_rss_flat", "scale_decision_p99_ratio", "scale_worklist_p99_ratio",
         "scale_search_p99_ratio"), "missed")  # fmt: skip
    per_episode = good["Temporal database bytes per episode"]
    assert per_episode.value == pytest.approx((4 * 10**8 - 10**6) / 9_900)


def test_the_file_keeps_each_commands_rows_and_reports_the_rest_not_run(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    bench = Results()
    bench.add(Row("3", "max sustained decisions/s", "sqlite", 5.0, "/s", 100.0, "noop",
                  "at_least", 0.25, key="max_decision_ratio"))  # fmt: skip
    bench.details["sqlite"] = {"x": 1}
    bench.write(out)
    first = json.loads(out.read_text())
    statuses = {r["key"]: r["status"] for r in first["rows"]}
    assert statuses["max_decision_ratio"] == "missed"
    assert statuses.keys() == {t.key for t in TARGETS}
    assert {statuses[t.key] for t in TARGETS if t.key != "max_decision_ratio"} == {"not_run"}

    scale_run = Results(source="bench-scale")
    scale_run.add(Row("8", "decision p99 at 10000 open", "pg", 30.0, "ms", 20.0, "at 100",
                      "at_most", 1.5, key="scale_decision_p99_ratio"))  # fmt: skip
    scale_run.details["scale"] = {"y": 2}
    scale_run.write(out)
    both = json.loads(out.read_text())
    statuses = {r["key"]: r["status"] for r in both["rows"] if r["key"]}
    assert statuses["max_decision_ratio"] == "missed"
    assert statuses["scale_decision_p99_ratio"] == "met"
    assert both["sqlite"] == {"x": 1} and both["scale"] == {"y": 2}
    assert set(both["runs"]) == {"bench", "bench-scale"}

    again = Results()
    again.add(Row("3", "max sustained decisions/s", "sqlite", 40.0, "/s", 100.0, "noop",
                  "at_least", 0.25, key="max_decision_ratio"))  # fmt: skip
    again.write(out)
    last = json.loads(out.read_text())
    keyed = [r for r in last["rows"] if r["key"] == "max_decision_ratio"]
    assert len(keyed) == 1 and keyed[0]["status"] == "met"
    assert {r["key"]: r["status"] for r in last["rows"]}["scale_decision_p99_ratio"] == "met"


def test_a_status_written_by_hand_is_not_trusted_on_reading(tmp_path: Path) -> None:
    row = Row("8", "n", "pg", 30.0, "ms", 10.0, "b", "at_most", 1.5, key="k", source="x")
    data = row.as_dict() | {"status": "met"}
    assert Row.from_dict(data).status == "missed"


def test_a_run_past_its_time_budget_says_so() -> None:
    assert budget_row("make bench", 600.0, BUDGET_SECONDS).status == "met"
    assert budget_row("make bench", BUDGET_SECONDS + 1, BUDGET_SECONDS).status == "missed"


def test_the_row_reports_its_ratio_target_and_status() -> None:
    out = Row("2", "x", "memory", 150, "/s", 100, "b", "at_most", 2).as_dict()
    assert (out["ratio"], out["target"], out["status"]) == (1.5, "≤ 2×", "met")
    assert Row("2", "x", "memory", 1, "/s", 1, "b", "flat", 0.2).target_text == "±20%"
    assert Row("2", "x", "memory", 1, "/s", 1, "b", "at_least", 0.5).target_text == "≥ 0.5×"

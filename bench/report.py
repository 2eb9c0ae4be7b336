"""Rows of the results table: each figure with its baseline, ratio, target and status.

A row's status is computed from its numbers, never set by hand: `met` when the compared
number (the ratio to the same-run baseline, or the value itself for an absolute target) is
within the target, `missed` when it is not, `n/a` when the number could not be measured (no
samples), `info` when the row has no target, and `not_run` for a target row of the issue
that the command writing the file does not measure (`make bench-scale` measures figure 8).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.table import Table

from bench.stats import ratio

TargetKind = Literal["at_least", "at_most", "flat"]
# What the target is compared with: the ratio to the baseline, or the value itself.
TargetOf = Literal["ratio", "value"]
Status = Literal["met", "missed", "info", "n/a", "not_run"]


@dataclass(frozen=True)
class Row:
    """One figure; `ratio` is value / baseline, both taken in the same run. `key` names a
    figure the issue sets a target for, so it can be found (and reported not run) by key."""

    figure: str
    name: str
    server: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target_kind: TargetKind | None = None
    target: float | None = None
    target_of: TargetOf = "ratio"
    key: str = ""
    source: str = "bench"
    # What a reader must know to read the figure (e.g. a maximum that is only a floor).
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.value is None:
            return None
        return ratio(self.value, self.baseline)

    @property
    def target_text(self) -> str:
        if self.target_kind is None or self.target is None:
            return ""
        if self.target_of == "value":
            sign = {"at_least": "≥", "at_most": "≤", "flat": "±"}[self.target_kind]
            return f"{sign} {self.target:g} {self.unit}"
        return {
            "at_least": f"≥ {self.target:g}×",
            "at_most": f"≤ {self.target:g}×",
            "flat": f"±{self.target:.0%}",
        }[self.target_kind]

    @property
    def status(self) -> Status:
        if self.value is None:
            return "not_run"
        if self.target_kind is None or self.target is None:
            return "info"
        return judge(self.compared, self.target_kind, self.target)

    @property
    def compared(self) -> float | None:
        """The number the target applies to."""
        return self.value if self.target_of == "value" else self.ratio

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ratio=self.ratio, target=self.target_text, status=self.status)
        out["target_value"] = self.target
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        """A row read back from a results file (its status is recomputed, not trusted)."""
        return cls(
            figure=data["figure"],
            name=data["name"],
            server=data["server"],
            value=data["value"],
            unit=data["unit"],
            baseline=data.get("baseline"),
            baseline_name=data.get("baseline_name", ""),
            target_kind=data.get("target_kind"),
            target=data.get("target_value"),
            target_of=data.get("target_of", "ratio"),
            key=data.get("key", ""),
            source=data.get("source", "bench"),
            note=data.get("note", ""),
        )


def judge(number: float | None, kind: TargetKind, target: float) -> Status:
    """met / missed for `number` against a target; n/a when there is no number."""
    if number is None or math.isnan(number):
        return "n/a"
    met = {
        "at_least": number >= target,
        "at_most": number <= target,
        "flat": abs(number - 1) <= target,
    }[kind]
    return "met" if met else "missed"


@dataclass(frozen=True)
class Target:
    """A figure of the issue's target table, and the command that measures it."""

    key: str
    figure: str
    name: str
    command: str


# Every target of the performance issue, so each is in latest.json as met, missed, n/a or
# not_run, whichever command last wrote the file.
TARGETS = (
    Target("decision_p99_ratio", "3", "decision p99 ÷ no-op update p99 at 50 % of decision max",
           "make bench"),
    Target("max_decision_ratio", "3", "max decisions/s ÷ max no-op updates/s", "make bench"),
    Target("decision_cpu_ratio", "3", "CPU ms per decision ÷ per no-op update, all processes",
           "make bench"),
    Target("claim_p99_ratio", "4", "claim release p99 ÷ no-op update p99 at 50 % of decision max",
           "make bench"),
    Target("history_events_flat", "6", "history events per run, 3 → 12 months", "make bench"),
    Target("history_bytes", "6", "history bytes per run, 12 months", "make bench"),
    Target("scale_decision_p99_ratio", "8", "decision p99 at 10⁴ open ÷ at 10² open",
           "make bench-scale"),
    Target("scale_worklist_p99_ratio", "8", "worklist p99 at 10⁴ ÷ at 10² episodes (PostgreSQL)",
           "make bench-scale"),
    Target("scale_search_p99_ratio", "8", "search p99 at 10⁴ ÷ at 10² episodes (PostgreSQL)",
           "make bench-scale"),
    Target("scale_worker_rss_flat", "8", "worker RSS stays flat as open episodes grow",
           "make bench-scale"),
)  # fmt: skip


def not_run(rows: list[Row]) -> list[Row]:
    """A `not_run` row for each target no row of `rows` reports."""
    found = {r.key for r in rows}
    return [
        Row(t.figure, t.name, "", None, "", baseline_name=f"measured by `{t.command}`", key=t.key,
            source="")
        for t in TARGETS
        if t.key not in found
    ]  # fmt: skip


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "bench"
    written: list[Row] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def write(self, path: Path) -> Path:
        """Writes this run's rows over the rows the same command wrote before, keeping the
        other command's rows, details and meta already in the file; then a `not_run` row for
        each target neither measured."""
        path.parent.mkdir(parents=True, exist_ok=True)
        before = json.loads(path.read_text()) if path.exists() else {}
        kept = [
            Row.from_dict(r)
            for r in before.get("rows", [])
            if r.get("source") and r["source"] != self.source
        ]
        runs = {k: v for k, v in before.get("runs", {}).items() if k != self.source}
        runs[self.source] = self.meta
        owners = {k: v for k, v in before.get("details_by_source", {}).items()}
        owners[self.source] = sorted(self.details)
        kept_details = {
            key: before[key]
            for source, keys in owners.items()
            if source != self.source
            for key in keys
            if key in before
        }
        rows = [*kept, *(_sourced(r, self.source) for r in self.rows)]
        rows += not_run(rows)
        self.written = rows
        body = {
            "meta": self.meta,
            "runs": runs,
            "details_by_source": owners,
            "rows": [r.as_dict() for r in rows],
            **kept_details,
            **self.details,
        }
        path.write_text(json.dumps(_clean(body), indent=2, allow_nan=False) + "\n")
        return path


def _sourced(row: Row, source: str) -> Row:
    return Row(**{**asdict(row), "source": source})


def _clean(value: Any) -> Any:
    """NaN (a figure with no samples) becomes null, so the file stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _num(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


STATUS_STYLE = {
    "met": "green",
    "missed": "bold red",
    "info": "dim",
    "n/a": "yellow",
    "not_run": "yellow",
}


def table(rows: list[Row]) -> Table:
    out = Table(title="stepdown bench — every ratio against a baseline from this run")
    for column in ("figure", "server", "value", "baseline", "ratio", "target", "status"):
        out.add_column(
            column, justify="right" if column in ("value", "baseline", "ratio") else "left"
        )
    for r in rows:
        baseline = f"{_num(r.baseline)} ({r.baseline_name})" if r.baseline is not None else ""
        if r.value is None:
            baseline = r.baseline_name
        out.add_row(
            f"{r.figure} {r.name}" + (f" [dim]({r.note})[/]" if r.note else ""),
            r.server,
            f"{_num(r.value)} {r.unit}",
            baseline,
            _num(r.ratio),
            r.target_text,
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
        )
    return out

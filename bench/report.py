"""Rows of the results table: each figure with its baseline, ratio, target and status."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.table import Table

from bench.stats import ratio

TargetKind = Literal["at_least", "at_most", "flat"]


@dataclass(frozen=True)
class Row:
    """One figure; `ratio` is value / baseline, both taken in the same run."""

    figure: str
    name: str
    server: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target_kind: TargetKind | None = None
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else ratio(self.value, self.baseline)

    @property
    def target_text(self) -> str:
        if self.target_kind is None or self.target is None:
            return ""
        return {
            "at_least": f"≥ {self.target:g}×",
            "at_most": f"≤ {self.target:g}×",
            "flat": f"±{self.target:.0%}",
        }[self.target_kind]

    @property
    def status(self) -> str:
        r = self.ratio
        if self.target_kind is None or self.target is None:
            return "info"
        if r is None or math.isnan(r):
            return "n/a"
        met = {
            "at_least": r >= self.target,
            "at_most": r <= self.target,
            "flat": abs(r - 1) <= self.target,
        }[self.target_kind]
        return "met" if met else "missed"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ratio=self.ratio, target=self.target_text, status=self.status)
        return out


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"meta": self.meta, "rows": [r.as_dict() for r in self.rows], **self.details}
        path.write_text(json.dumps(_clean(body), indent=2, allow_nan=False) + "\n")


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


STATUS_STYLE = {"met": "green", "missed": "bold red", "info": "dim", "n/a": "yellow"}


def table(results: Results) -> Table:
    out = Table(title="stepdown bench — every ratio against a baseline from this run")
    for column in ("figure", "server", "value", "baseline", "ratio", "target", "status"):
        out.add_column(
            column, justify="right" if column in ("value", "baseline", "ratio") else "left"
        )
    for r in results.rows:
        baseline = f"{_num(r.baseline)} ({r.baseline_name})" if r.baseline is not None else ""
        out.add_row(
            f"{r.figure} {r.name}",
            r.server,
            f"{_num(r.value)} {r.unit}",
            baseline,
            _num(r.ratio),
            r.target_text,
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
        )
    return out

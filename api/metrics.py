"""Hand-written Prometheus counters: requests by route, webhook and claim outcomes."""

from __future__ import annotations

import threading
from collections import Counter

Labels = tuple[tuple[str, str], ...]

# name -> help text; every metric here is a counter.
METRICS = {
    "stepdown_http_requests_total": "HTTP requests by method, route template and status code.",
    "stepdown_webhook_deliveries_total": "Payer webhook deliveries answered, by outcome.",
    "stepdown_webhook_redeliveries_total": "Inbox redeliveries to the workflows, by outcome.",
    "stepdown_claims_total": "Claim release requests answered, by status (released or held).",
    "stepdown_mailbox_files_total": "Clearinghouse mailbox files taken into the inbox, by outcome.",
}

# name -> help text; gauges hold the last value measured.
GAUGES = {
    "stepdown_workflows_stuck": "Running episodes whose workflow task keeps failing (last scan).",
}


class Metrics:
    """Counters kept in this process; one scrape shows what this API replica answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[Labels]] = {name: Counter() for name in METRICS}
        self._gauges: dict[str, float] = {}

    def inc(self, name: str, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._counts[name][key] += 1

    def value(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._counts[name][tuple(sorted(labels.items()))]

    def set(self, name: str, value: float) -> None:
        assert name in GAUGES, name
        with self._lock:
            self._gauges[name] = value

    def render(self) -> str:
        """The Prometheus text exposition format, version 0.0.4."""
        lines: list[str] = []
        with self._lock:
            snapshot = {name: dict(counts) for name, counts in self._counts.items()}
            gauges = dict(self._gauges)
        for name, counts in snapshot.items():
            lines += [f"# HELP {name} {METRICS[name]}", f"# TYPE {name} counter"]
            lines += [f"{name}{_labels(key)} {count}" for key, count in sorted(counts.items())]
        for name, value in sorted(gauges.items()):
            lines += [f"# HELP {name} {GAUGES[name]}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _labels(key: Labels) -> str:
    if not key:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in key) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

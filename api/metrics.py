"""Prometheus metrics of one API replica, kept with prometheus-client.

Each `Metrics` owns its own registry, so two apps in one process (tests, `stepdown dev`) never
share counts; a scrape of `/metrics` shows what this replica answered and how fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# generate_latest writes the 0.0.4 text format; its content type says so.
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from domain.errors import Rejected

__all__ = ["CONTENT_TYPE_PLAIN_0_0_4", "COUNTERS", "GAUGES", "HISTOGRAMS", "Metrics"]

# `*_created` timestamps per label set double the scrape and say nothing a dashboard uses.
disable_created_metrics()

# name (without the `_total` suffix prometheus-client adds) -> (help text, label names)
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stepdown_http_requests": (
        "HTTP requests by method, route template and status code.",
        ("method", "route", "status"),
    ),
    "stepdown_webhook_deliveries": ("Payer webhook deliveries answered, by outcome.", ("status",)),
    "stepdown_webhook_redeliveries": (
        "Inbox redeliveries to the workflows, by outcome.",
        ("status",),
    ),
    "stepdown_claims": (
        "Claim release requests answered, by status (released or held).",
        ("status",),
    ),
    "stepdown_mailbox_files": (
        "Clearinghouse mailbox files taken into the inbox, by outcome.",
        ("status",),
    ),
}

GAUGES: dict[str, str] = {
    "stepdown_workflows_stuck": "Running episodes whose workflow task keeps failing (last scan).",
}

# Latency buckets in seconds: a no-op update is ~6 ms, a payer decision ~40 ms on 2 cores
# (issue 15's measurements), a stalled Temporal ends at the gateway's timeout.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24)

HISTOGRAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stepdown_http_request_duration_seconds": (
        "Time from a request's arrival to its answer, by method and route template.",
        ("method", "route"),
    ),
    "stepdown_workflow_update_duration_seconds": (
        "Time an episode workflow update took, by update name and outcome (ok, rejected, error).",
        ("update", "outcome"),
    ),
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        self._gauges = {
            name: Gauge(name, text, registry=self.registry) for name, text in GAUGES.items()
        }
        self._histograms = {
            name: Histogram(name, text, labels, registry=self.registry, buckets=LATENCY_BUCKETS)
            for name, (text, labels) in HISTOGRAMS.items()
        }

    def inc(self, name: str, **labels: str) -> None:
        """Count one; `name` may carry the `_total` suffix of its exposition name."""
        self._counters[name.removesuffix("_total")].labels(**labels).inc()

    def value(self, name: str, **labels: str) -> float:
        """The count so far for these labels (0 when never counted)."""
        sample = self.registry.get_sample_value(f"{name.removesuffix('_total')}_total", labels)
        return sample or 0

    def set(self, name: str, value: float) -> None:
        self._gauges[name].set(value)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        self._histograms[name].labels(**labels).observe(seconds)

    @contextmanager
    def update_timer(self, update: str) -> Iterator[None]:
        """Times one workflow update; the outcome label says how it ended."""
        started = perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except Rejected:
            outcome = "rejected"
            raise
        finally:
            self.observe(
                "stepdown_workflow_update_duration_seconds",
                perf_counter() - started,
                update=update,
                outcome=outcome,
            )

    def render(self) -> str:
        """The Prometheus text exposition format, version 0.0.4."""
        return generate_latest(self.registry).decode()

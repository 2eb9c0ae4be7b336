"""Observability of the engine: Temporal SDK metrics for Prometheus, OpenTelemetry traces.

Both are off by default. STEPDOWN_TEMPORAL_METRICS_ADDRESS turns on the SDK's own Prometheus
endpoint (`http://<address>/metrics`: workflow/activity task latencies, failures, slots,
poll results) in the worker. STEPDOWN_OTLP_ENDPOINT turns on tracing: the API opens a span
per HTTP request, temporalio's TracingInterceptor carries its context through the headers
of the update into the workflow and on to the activities, and spans go to that OTLP/HTTP
collector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

if TYPE_CHECKING:
    from settings import Settings

TRACER_NAME = "stepdown"


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving the SDK metrics at the settings' address; None when off.

    One per process: the Prometheus endpoint binds once, and every client and worker
    created on this runtime reports through it.
    """
    if not settings.temporal_metrics_address:
        return None
    config = PrometheusConfig(bind_address=settings.temporal_metrics_address)
    return Runtime(telemetry=TelemetryConfig(metrics=config))


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """Traces exported over OTLP/HTTP to STEPDOWN_OTLP_ENDPOINT; None when tracing is off."""
    if not settings.otlp_endpoint:
        return None
    # Imported only when on: the exporter pulls in an HTTP stack the default path never needs.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def tracing_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """The client (and, through it, worker) interceptors that carry the trace context."""
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer(TRACER_NAME))]


def trace_http(app: Any, provider: TracerProvider | None) -> None:
    """A server span per HTTP request (W3C traceparent honoured), parent of the Temporal spans."""
    if provider is None:
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware, tracer_provider=provider, exclude_spans=["receive", "send"]
    )

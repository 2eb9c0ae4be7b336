"""Observability of the engine: the worker's SDK metrics scraped over HTTP, and one trace
from an HTTP request through the workflow update to the activities (real dev server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.episode import EpisodeActivities
from api.app import create_app
from api.deps import sql_deps
from settings import Settings
from store.db import make_engine
from store.sql import SqlReadModel
from tests.support.api_stack import SEEDED_PAYERS, api_settings, register_payers
from tests.support.db import migrated_database
from tests.support.fakes import FakePorts
from tests.support.intake import intake_body
from tests.support.procs import free_port
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow
from workflows.telemetry import metrics_runtime, tracer_provider, tracing_interceptors
from workflows.temporal import DATA_CONVERTER, connect


@workflow.defn(sandboxed=False)
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"


def local(env: WorkflowEnvironment, **values: object) -> Settings:
    address = env.client.service_client.config.target_host
    return Settings.model_validate({"STEPDOWN_DEV": True, "TEMPORAL_ADDRESS": address} | values)


def test_both_are_off_by_default(dev_env: WorkflowEnvironment) -> None:
    settings = local(dev_env)
    assert metrics_runtime(settings) is None
    assert tracer_provider(settings, "x") is None
    assert tracing_interceptors(None) == []


async def test_worker_sdk_metrics_are_scraped_in_prometheus_format(
    dev_env: WorkflowEnvironment,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = local(dev_env, STEPDOWN_TEMPORAL_METRICS_ADDRESS=address)
    runtime = metrics_runtime(settings)
    assert runtime is not None
    client = await connect(settings, runtime=runtime, data_converter=DATA_CONVERTER)
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Hello]):
        answer = await client.execute_workflow(
            Hello.run, "metrics", id=f"hello-{uuid.uuid4()}", task_queue=queue
        )
    assert answer == "hello metrics"
    async with httpx.AsyncClient() as http:
        scraped = await http.get(f"http://{address}/metrics")
    assert scraped.status_code == 200
    lines = scraped.text.splitlines()
    # A workflow completed on our task queue, and the latency histograms the backlog
    # autoscaling and alerting read (deploy/README.md) are there.
    completed = [
        line
        for line in lines
        if line.startswith("temporal_workflow_completed") and f'task_queue="{queue}"' in line
    ]
    assert completed and float(completed[0].rsplit(" ", 1)[1]) >= 1
    assert any(
        line.startswith("# TYPE temporal_workflow_task_schedule_to_start_latency") for line in lines
    )


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


async def test_one_trace_spans_the_request_the_update_and_the_activities(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    queue = f"tq-trace-{uuid.uuid4().hex}"
    config = api_settings(
        STEPDOWN_TASK_QUEUE=queue, TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host
    )
    client = await connect(
        config, data_converter=DATA_CONVERTER, interceptors=tracing_interceptors(provider)
    )
    ports = FakePorts()
    activities = EpisodeActivities(
        ports.payer_gateway, SqlReadModel(sqlite_engine), ports.notifier, ports.outbox
    )
    # The worker inherits the client's interceptors: workflow and activity spans.
    async with running_worker(client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(sqlite_engine, client, config)
        register_payers(deps.directory(), SEEDED_PAYERS)
        app = create_app(config, deps=deps, tracing=provider)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
            opened = await http.post(
                "/episodes", json=intake_body(), headers={"Authorization": "Bearer t-intake"}
            )
    assert opened.status_code == 201, opened.text

    finished = spans.get_finished_spans()
    request = [s for s in finished if s.name.startswith("POST /episodes")]
    assert len(request) == 1
    trace = [s for s in finished if s.context.trace_id == request[0].context.trace_id]
    names = {s.name for s in trace}
    assert any("Update" in name for name in names), names
    assert any(name.startswith("HandleUpdate:") for name in names), names
    assert any(name.startswith("RunActivity:") for name in names), names

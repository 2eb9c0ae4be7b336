"""The worker's production wiring, driven by real episodes: a denial is stored for the console
and emailed to a real SMTP server without PHI; released claims reach the SQL outbox and,
across a restart of the worker and the API, every claim lands in exactly one batch."""

from __future__ import annotations

import ast
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

import worker
from api.app import create_app
from api.deps import sql_deps
from devstack.mailsink import MailSink
from settings import Settings
from store.db import make_engine
from tests.api.test_billing import CLEAN, claim, services
from tests.api.test_claims_outbox import queued
from tests.support.api_client import Api
from tests.support.api_stack import SEEDED_PAYERS, Stack, api_settings, register_payers
from tests.support.fakes import FakePorts
from tests.support.intake import approval, service_line
from tests.support.polling import eventually
from tests.support.procs import free_port
from tests.support.submitter import SUBMITTER
from tests.support.temporal import running_worker
from tests.support.x12valid import x12_errors
from workflows.episode import EpisodeWorkflow

pytestmark = pytest.mark.slow


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


def production_settings(database_url: str, sink: MailSink, mailbox: Path) -> Settings:
    return api_settings(
        STEPDOWN_TASK_QUEUE=f"tq-wiring-{uuid.uuid4().hex}",
        DATABASE_URL=database_url,
        STEPDOWN_SMTP_HOST="127.0.0.1",
        STEPDOWN_SMTP_PORT=sink._controller.port,
        STEPDOWN_SMTP_TLS="none",
        STEPDOWN_NOTIFY_EMAILS={"ops": ["ur@clinic.test"], "intake": ["intake@clinic.test"]},
        STEPDOWN_CLAIMS_SUBMITTER=SUBMITTER.model_dump(),
        STEPDOWN_CLAIM_FILES_DIR=str(mailbox),
    )


@asynccontextmanager
async def processes(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Api]:
    """A worker wired by worker.build_adapters and an API wired by sql_deps, each over
    its own engine, as two freshly started processes would be."""
    engine: Engine = make_engine(settings.database_url)
    activities = worker.build_adapters(settings).activities
    try:
        async with running_worker(env.client, activities, [EpisodeWorkflow], settings.task_queue):
            deps = sql_deps(engine, env.client, settings)
            register_payers(deps.directory(), SEEDED_PAYERS)
            app = create_app(settings, deps=deps)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://s.test") as http:
                yield Api(http, Stack(app, deps, settings, engine, FakePorts()))
    finally:
        engine.dispose()


async def released(api: Api) -> tuple[str, str]:
    view = await api.open()
    assert (await api.decide(view, "A1", **approval(number="AUTH-9"))).status_code == 202
    await services(api, view["episode_id"], service_line(**CLEAN))
    claim_id = f"C-{uuid.uuid4().hex[:8]}"
    assert (await claim(api, view["episode_id"], claim_id)).status_code == 201
    await queued(api, view["episode_id"])
    return view["episode_id"], claim_id


async def test_a_denial_is_stored_and_emailed_without_phi(
    dev_env: WorkflowEnvironment, database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = production_settings(database_url, sink, tmp_path)
    async with processes(dev_env, settings) as api:
        view = await api.open()
        reason = "not medically necessary"
        assert (await api.decide(view, "A3", reason=reason)).status_code == 202

        async def stored() -> list[Any]:
            found = (await api.call("GET", "/notifications", "intake")).json()["notifications"]
            return [n for n in found if n["episode_id"] == view["episode_id"]]

        [note] = await eventually(stored)
        assert (note["kind"], note["detail"]) == ("denied", reason)
        mail = await eventually(lambda: _mail_for(sink, view["episode_id"]))

    assert set(mail.recipients) == {"ur@clinic.test", "intake@clinic.test"}
    raw = mail.raw.decode()
    # The intake body's patient (tests/support/commands.open_command) and the payer's reason.
    for phi in ("Jane", "Roe", "MCD123456", "1990", "P-100", "F33", reason):
        assert phi not in raw


async def _mail_for(sink: MailSink, episode_id: str) -> Any:
    return next((m for m in sink.received if episode_id in m.body), None)


async def test_claims_survive_a_restart_and_each_is_batched_exactly_once(
    dev_env: WorkflowEnvironment, database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = production_settings(database_url, sink, tmp_path)
    async with processes(dev_env, settings) as api:
        before = await released(api)  # queued, and then both processes stop
    async with processes(dev_env, settings) as api:
        after = await released(api)
        cut = await api.call("POST", "/claims/batches", "billing")
        again = await api.call("POST", "/claims/batches", "billing")

    assert cut.status_code == 201, cut.text
    assert again.status_code == 409
    batch = cut.json()
    assert sorted((c["episode_id"], c["claim_id"]) for c in batch["claims"]) == sorted(
        [before, after]
    )
    text = (tmp_path / batch["file_name"]).read_text()
    assert x12_errors(text) == [] and text.count("REF*G1*AUTH-9~") == 2


def test_the_worker_module_never_imports_the_fakes() -> None:
    source = Path(worker.__file__).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any(name.startswith("tests.support.fakes") for name in imported)

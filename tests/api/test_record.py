"""The event store is the record, against real workflows on the dev server (SQLite and
PostgreSQL): `events verify` compares the fold with the running workflow; an episode's
earlier runs stay readable through `GET /episodes/{id}/events`, the console timeline and
`episode export` after Temporal deleted them; `db rebuild` after dropping the derived tables
gives the same episode views, worklist and lists."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from click.testing import Result
from sqlalchemy import Engine, text
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from api.app import create_app
from api.deps import sql_deps
from cli import app
from settings import DEV_PAYLOAD_KEY, DEV_PAYLOAD_KEY_ID, get_settings
from store.db import make_engine
from store.phi import cipher_from_settings
from store.rebuild import rebuild
from store.sql import SqlReadModel
from tests.support.api_client import Api
from tests.support.api_stack import PAYLOAD_KEYS, api_settings, running_stack
from tests.support.commands import dated_command
from tests.support.db import DATABASES, migrated_database
from tests.support.intake import approval, new_id, service_line, today
from tests.support.polling import eventually
from tests.support.procs import free_port
from workflows.client import EpisodeClient, workflow_id
from workflows.episode import EpisodeWorkflow
from workflows.models import EventsQuery

# The dev server deletes a run asynchronously; about 30 s was measured.
DELETION_DEADLINE = 120


BASE = "http://stepdown.test"


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def stepdown(
    client: Client,
    engine: Engine,
    *args: str,
    keys: dict[str, str] | None = None,
    active: str = DEV_PAYLOAD_KEY_ID,
) -> Result:
    """The CLI against this database and this Temporal server, in a thread."""
    env = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "STEPDOWN_DEV": "1",
        # The stack's worker sealed the events' PHI with test-1 (any listed key opens it);
        # the test server's workflows know only the dev key, so it seals what the CLI sends.
        "STEPDOWN_PAYLOAD_KEYS": json.dumps(
            (PAYLOAD_KEYS if keys is None else keys) | {DEV_PAYLOAD_KEY_ID: DEV_PAYLOAD_KEY}
        ),
        "STEPDOWN_PAYLOAD_ACTIVE_KEY": active,
    }
    runner = CliRunner(env=env)
    get_settings.cache_clear()  # each run reads its own environment
    return await asyncio.to_thread(runner.invoke, app, list(args), catch_exceptions=False)


async def settled(api: Api, episode_id: str) -> dict[str, Any]:
    view = await api.view(episode_id)
    await api.projected(episode_id, view["version"])
    return view


async def continued_as_new(api: Api) -> tuple[str, str]:
    """An episode in its second run (three events make this client's runs continue as new);
    returns its id and its first run's id."""
    episodes = EpisodeClient(
        api.deps.episodes.client, api.stack.settings.task_queue, continue_as_new_after_events=3
    )
    opened, _ = await episodes.open(dated_command(today()))
    view = opened.model_dump(mode="json")
    assert (await api.decide(view, "A4", reason="need the discharge summary")).is_success
    handle = api.deps.episodes.client.get_workflow_handle(workflow_id(view["episode_id"]))
    # The run the open started; the decision's third event makes it continue as new.
    history = await episodes.history(view["episode_id"])
    first = history[0].run_id

    async def second_run() -> bool:
        return (await handle.describe()).run_id != first

    await eventually(second_run)
    return view["episode_id"], first


async def test_verify_compares_the_fold_with_the_running_workflow(api: Api) -> None:
    view = await api.open()
    assert (await api.decide(view, "A1", **approval())).status_code == 202
    episode_id = view["episode_id"]
    version = (await settled(api, episode_id))["version"]

    result = await stepdown(
        api.deps.episodes.client, api.stack.engine, "events", "verify", episode_id
    )

    assert result.exit_code == 0, result.output
    assert f"fold = live view at version {version}" in result.output
    assert "skipped" not in result.output


async def test_verify_reports_a_store_behind_the_workflow(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    version = (await settled(api, episode_id))["version"]
    engine = api.stack.engine
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE episode_events DISABLE TRIGGER USER"))
            connection.execute(
                text("DELETE FROM episode_events WHERE episode_id = :e AND seq = :v"),
                {"e": episode_id, "v": version},
            )
            connection.execute(text("ALTER TABLE episode_events ENABLE TRIGGER USER"))
        else:
            # SQLite's triggers are per database; put them back for the other tests' sake.
            [ddl] = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'episode_events_no_delete'")
            ).scalars()
            connection.execute(text("DROP TRIGGER episode_events_no_delete"))
            connection.execute(
                text("DELETE FROM episode_events WHERE episode_id = :e AND seq = :v"),
                {"e": episode_id, "v": version},
            )
            connection.execute(text(ddl))

    result = await stepdown(api.deps.episodes.client, engine, "events", "verify", episode_id)

    assert result.exit_code == 1
    assert f"holds seq 1..{version - 1} but the workflow is at version {version}" in result.output


async def test_earlier_runs_are_read_from_the_event_store_alone(api: Api, tmp_path: Path) -> None:
    client = api.deps.episodes.client
    episode_id, first_run = await continued_as_new(api)
    view = await settled(api, episode_id)
    every_seq = list(range(1, view["version"] + 1))
    handle = client.get_workflow_handle(workflow_id(episode_id))
    this_run = await handle.query(EpisodeWorkflow.events, EventsQuery(after=0))
    # The running workflow no longer holds the first run's events: only the store does.
    assert all(e.seq > 1 for e in this_run)

    # The API over the same database, with a Temporal that answers nothing at all: what
    # the route serves cannot come from any run's history, retained or purged.
    dead = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    offline = create_app(
        api.stack.settings, deps=sql_deps(api.stack.engine, dead, api.stack.settings)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=offline), base_url="http://stepdown.test"
    ) as http:
        response = await Api(http, api.stack).call("GET", f"/episodes/{episode_id}/events", "ops")
        unknown = await Api(http, api.stack).call("GET", f"/episodes/{new_id()}/events", "ops")

    assert response.status_code == 200
    assert [e["seq"] for e in response.json()] == every_seq
    assert response.json()[0]["type"] == "episode_opened"
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"

    # The console's timeline shows the first run's events from the store, beside the live run.
    web = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.stack.app), base_url="http://stepdown.test"
    )
    async with web:
        await web.post("/console/login", data={"token": "t-ops"})
        page = await web.get(f"/console/episodes/{episode_id}")
    assert page.status_code == 200
    assert all(f'data-seq="{seq}"' in page.text for seq in every_seq)

    out = tmp_path / "export.json"
    exported = await stepdown(
        client, api.stack.engine, "episode", "export", episode_id, "--by", "records-office",
        "--output", str(out),
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert [e["seq"] for e in document["events"]] == every_seq
    assert document["events"][1]["prev_hash"] == document["events"][0]["hash"]
    runs = [run["run_id"] for run in document["temporal"]["runs"]]
    assert runs[0] == first_run and runs[-1] == (await handle.describe()).run_id
    assert document["temporal"]["runs"][0]["history"][0]["type"] == "WorkflowExecutionStarted"
    audit = await api.call("GET", f"/audit?episode_id={episode_id}", "ops")
    assert ("episode.export", "records-office") in {(e["action"], e["actor"]) for e in audit.json()}

    verified = await stepdown(client, api.stack.engine, "events", "verify", episode_id)
    assert verified.exit_code == 0, verified.output
    assert "fold = live view" in verified.output


async def deleted_from_temporal(client: Client, episode_id: str, run_id: str) -> float:
    """Deletes one closed run and waits until Temporal answers NotFound for it.

    The server deletes asynchronously (a deletion task; about 30 s on the dev server), which
    is what retention does to a closed run too. Returns the seconds it took.
    """
    execution = WorkflowExecution(workflow_id=workflow_id(episode_id), run_id=run_id)
    request = DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=execution
    )
    started = time.monotonic()
    await client.workflow_service.delete_workflow_execution(request)
    handle = client.get_workflow_handle(workflow_id(episode_id), run_id=run_id)
    while time.monotonic() - started < DELETION_DEADLINE:
        try:
            await handle.describe()
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err
            with pytest.raises(RPCError) as history:
                await handle.fetch_history()
            assert history.value.status == RPCStatusCode.NOT_FOUND
            return time.monotonic() - started
        await asyncio.sleep(1)
    raise AssertionError(f"run {run_id} still described {DELETION_DEADLINE} s after deletion")


@pytest.mark.slow
async def test_earlier_runs_stay_readable_after_temporal_deleted_them(
    api: Api, tmp_path: Path
) -> None:
    """DOMAIN/issue: events of earlier runs stay readable through GET /episodes/{id}/events
    and the console whatever Temporal has purged. The first run of a continued-as-new
    episode is deleted from the (live) Temporal server; every read still has all events."""
    client = api.deps.episodes.client
    episode_id, first_run = await continued_as_new(api)
    view = await settled(api, episode_id)
    every_seq = list(range(1, view["version"] + 1))
    current_run = (await client.get_workflow_handle(workflow_id(episode_id)).describe()).run_id

    await deleted_from_temporal(client, episode_id, first_run)

    response = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
    assert response.status_code == 200, response.text
    assert [e["seq"] for e in response.json()] == every_seq
    assert response.json()[0]["type"] == "episode_opened"
    web = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.stack.app), base_url="http://stepdown.test"
    )
    async with web:
        await web.post("/console/login", data={"token": "t-ops"})
        page = await web.get(f"/console/episodes/{episode_id}")
    assert page.status_code == 200
    assert all(f'data-seq="{seq}"' in page.text for seq in every_seq)
    # Temporal's own history now starts at the run it still has.
    history = await api.call("GET", f"/episodes/{episode_id}/history", "ops")
    assert history.status_code == 200, history.text
    assert {entry["run_id"] for entry in history.json()} == {current_run}
    out = tmp_path / "export.json"
    exported = await stepdown(
        client, api.stack.engine, "episode", "export", episode_id, "--by", "records-office",
        "--output", str(out),
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert [e["seq"] for e in document["events"]] == every_seq
    assert [run["run_id"] for run in document["temporal"]["runs"]] == [current_run]
    verified = await stepdown(client, api.stack.engine, "events", "verify", episode_id)
    assert verified.exit_code == 0, verified.output
    assert "fold = live view" in verified.output


async def test_export_of_an_unknown_episode_fails_and_writes_nothing(
    api: Api, tmp_path: Path
) -> None:
    out = tmp_path / "none.json"
    result = await stepdown(
        api.deps.episodes.client, api.stack.engine, "episode", "export", new_id(),
        "--by", "records-office", "--output", str(out),
    )  # fmt: skip

    assert result.exit_code == 1
    assert "no episode" in result.output
    assert not out.exists()


# -- rebuild: a database of its own, so the comparison sees only these episodes --------------


@pytest.fixture(scope="module", params=DATABASES)
def own_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with migrated_database(request.param, tmp_path_factory.mktemp("record")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def own_api(dev_env: WorkflowEnvironment, own_engine: Engine) -> AsyncIterator[Api]:
    async with running_stack(dev_env.client, own_engine, "record") as stack:
        transport = httpx.ASGITransport(app=stack.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as h:
            yield Api(h, stack)


async def varied_episodes(api: Api, payer_id: str) -> list[str]:
    """Episodes in several states, with claims released and held and worklist items."""
    payer = {"id": payer_id, "plan_type": "medicaid_managed_care"}
    approved, pended, denied, held, cancelled = [await api.open(payer=payer) for _ in range(5)]
    assert (await api.decide(approved, "A1", **approval())).is_success
    assert (await api.decide(pended, "A4", reason="send the PHP discharge summary")).is_success
    assert (await api.decide(denied, "A3", reason_code="MN", reason="not necessary")).is_success
    for view in (approved, held):
        line = service_line(code="90853")
        # A session too short to bill: left off the claim, kept in its `dropped`.
        short = service_line(code="S9480", minutes=30)
        body = {"services": [line, short] if view is approved else [line]}
        path = f"/episodes/{view['episode_id']}/services"
        assert (await api.call("POST", path, "billing", json=body)).status_code == 200
        claim = {"claim_id": new_id("C"), "through": today().isoformat()}
        path = f"/episodes/{view['episode_id']}/claims"
        assert (await api.call("POST", path, "billing", json=claim)).status_code in (201, 202)
    # A second request for the held month supersedes its held claim (superseded_by).
    more = {"services": [service_line(code="90853")]}
    path = f"/episodes/{held['episode_id']}/services"
    assert (await api.call("POST", path, "billing", json=more)).status_code == 200
    claim = {"claim_id": new_id("C"), "through": today().isoformat()}
    path = f"/episodes/{held['episode_id']}/claims"
    assert (await api.call("POST", path, "billing", json=claim)).status_code == 202
    cancel = {"reason": "moved away"}
    path = f"/episodes/{cancelled['episode_id']}/cancel"
    assert (await api.call("POST", path, "ops", json=cancel)).is_success
    ids = [v["episode_id"] for v in (approved, pended, denied, held, cancelled)]
    for episode_id in ids:
        await settled(api, episode_id)
    return ids


def read_everything(read_model: SqlReadModel, payer_id: str, ids: list[str]) -> dict[str, Any]:
    page, _ = read_model.list_episodes(payer_id=payer_id, limit=100)
    return {
        "list": [s.model_dump(mode="json") for s in page],
        "states": {state: read_model.list_episodes(state=state)[0] for state in ("denied",)},
        "worklist": [i.model_dump(mode="json") for i in read_model.worklist(payer_id=payer_id)],
        "summaries": {e: read_model.summary(e) for e in ids},
        "claims": {e: read_model.claims(e) for e in ids},
        "events": {e: read_model.events(e) for e in ids},
        "traces": {
            e: read_model.episode_for_trace(read_model.summary(e).trace_number) for e in ids
        },  # type: ignore[union-attr]
    }


async def test_rebuild_after_dropping_the_derived_tables_gives_the_same_reads(
    own_api: Api,
) -> None:
    payer_id = new_id("payer")
    ids = await varied_episodes(own_api, payer_id)
    engine = own_api.stack.engine
    read_model = SqlReadModel(engine, cipher_from_settings(own_api.stack.settings))
    before = read_everything(read_model, payer_id, ids)
    assert before["worklist"] and any(before["claims"].values())
    # The SQL claims keep what the episode's own view shows: dropped lines, superseded_by.
    for episode_id in ids:
        shown = (await own_api.view(episode_id))["claims"]
        stored = [c.model_dump(mode="json", by_alias=True) for c in before["claims"][episode_id]]
        assert sorted(stored, key=lambda c: c["claim_id"]) == sorted(
            shown, key=lambda c: c["claim_id"]
        )
    stored_claims = [c for claims in before["claims"].values() for c in claims]
    assert any(c.dropped and c.dropped[0].code == "below_minimum_minutes" for c in stored_claims)
    assert any(c.status == "superseded" and c.superseded_by for c in stored_claims)
    with engine.begin() as connection:
        for table in ("worklist_items", "claims", "episodes"):
            connection.execute(text(f"DROP TABLE {table}"))

    result = await stepdown(own_api.deps.episodes.client, engine, "db", "rebuild")

    assert result.exit_code == 0, result.output
    assert "rebuilt 5 episode(s)" in result.output
    assert "created episodes, claims, worklist_items" in result.output
    after = read_everything(read_model, payer_id, ids)
    for key in before:
        assert after[key] == before[key], _diff(before[key], after[key])
    listed = await own_api.call("GET", f"/episodes?payer_id={payer_id}", "ops")
    assert [s["episode_id"] for s in listed.json()["episodes"]] == [
        s["episode_id"] for s in before["list"]
    ]
    verified = await stepdown(own_api.deps.episodes.client, engine, "events", "verify", "--all")
    assert verified.exit_code == 0, verified.output


async def test_rebuild_twice_over_live_tables_changes_nothing(own_api: Api) -> None:
    payer_id = new_id("payer")
    ids = await varied_episodes(own_api, payer_id)
    cipher = cipher_from_settings(own_api.stack.settings)
    read_model = SqlReadModel(own_api.stack.engine, cipher)
    before = read_everything(read_model, payer_id, ids)

    first, second = (
        rebuild(own_api.stack.engine, cipher=cipher),
        rebuild(own_api.stack.engine, cipher=cipher),
    )

    assert first.failed == second.failed == {}
    assert first.created_tables == []
    assert read_everything(read_model, payer_id, ids) == before


def _diff(before: Any, after: Any) -> str:
    if isinstance(before, dict):
        return "; ".join(
            f"{k}: {_diff(before[k], after.get(k))}" for k in before if before[k] != after.get(k)
        )
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return "; ".join(_diff(b, a) for b, a in zip(before, after, strict=True) if b != a)
    if hasattr(before, "model_dump") and after is not None:
        return _diff(before.model_dump(mode="json"), after.model_dump(mode="json"))
    return f"{before!r} != {after!r}"


NEW_KEY = {"test-2": base64.b64encode(b"stepdown-test-rotated-key-32byte").decode()}


@pytest.mark.slow
async def test_a_key_rotation_rewrites_no_event_and_everything_still_reads(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A stack seals with test-1; `db reencrypt` moves every data key to test-2; with test-1
    removed, the API serves every event and the search, and `events verify` (live) passes."""
    with migrated_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        try:
            async with running_stack(dev_env.client, engine, "rotation") as stack:
                transport = httpx.ASGITransport(app=stack.app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
                    api = Api(http, stack)
                    view = await api.open()
                    assert (await api.decide(view, "A1", **approval())).status_code == 202
                    episode_id = view["episode_id"]
                    await settled(api, episode_id)
                    path = f"/episodes/{episode_id}/events"
                    before = (await api.call("GET", path, "ops")).json()
                with engine.connect() as connection:
                    rows = connection.execute(text("SELECT * FROM episode_events")).all()

                both = PAYLOAD_KEYS | NEW_KEY
                rotated = await stepdown(
                    dev_env.client, engine, "db", "reencrypt", keys=both, active="test-2"
                )
                verified = await stepdown(
                    dev_env.client, engine, "events", "verify", episode_id, keys=NEW_KEY
                )
                settings = api_settings(
                    STEPDOWN_TASK_QUEUE=stack.settings.task_queue, STEPDOWN_PAYLOAD_KEYS=NEW_KEY
                )
                rotated_app = create_app(settings, deps=sql_deps(engine, dev_env.client, settings))
                transport = httpx.ASGITransport(app=rotated_app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
                    after = Api(http, stack)
                    events = await after.call("GET", path, "ops")
                    found = await after.call("GET", "/episodes", "ops", params={"q": "roe"})
            with engine.connect() as connection:
                rows_after = connection.execute(text("SELECT * FROM episode_events")).all()
                kids = set(connection.execute(text("SELECT kid FROM episode_data_keys")).scalars())
        finally:
            get_settings.cache_clear()
            engine.dispose()

    assert rotated.exit_code == 0 and "1 episode data key(s)" in rotated.output, rotated.output
    assert rows_after == rows
    assert kids == {"test-2"}
    assert verified.exit_code == 0 and "fold = live view" in verified.output, verified.output
    assert events.status_code == 200 and events.json() == before
    assert before[0]["data"]["patient"]["name"] == "Jane Roe"
    assert episode_id in {s["episode_id"] for s in found.json()["episodes"]}

"""The `stepdown` command: the dev stack, the servers, and episode commands over the HTTP API."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from devstack import render
from devstack.apiclient import ApiClient, ApiError
from settings import DEV_WEBHOOK_SECRET, Settings, get_settings
from store.phi import cipher_from_settings

app = typer.Typer(help="stepdown: ASAM step-down authorizations on Temporal.", no_args_is_help=True)
episode_app = typer.Typer(help="One episode: open, show, events, history.", no_args_is_help=True)
episodes_app = typer.Typer(help="Many episodes.", no_args_is_help=True)
db_app = typer.Typer(help="The read model's database.", no_args_is_help=True)
webhook_app = typer.Typer(help="Payer webhooks, sent like a payer.", no_args_is_help=True)
events_app = typer.Typer(
    help="The event store, the record: verify, legal holds, retention purge.",
    no_args_is_help=True,
)


claims_app = typer.Typer(help="The claims outbox and its 837I batches.", no_args_is_help=True)
users_app = typer.Typer(
    help="People: add, personal API tokens, disable (on DATABASE_URL).", no_args_is_help=True
)
app.add_typer(episode_app, name="episode")
app.add_typer(episodes_app, name="episodes")
app.add_typer(db_app, name="db")
app.add_typer(webhook_app, name="webhook")
app.add_typer(events_app, name="events")


app.add_typer(claims_app, name="claims")


payers_app = typer.Typer(help="The payer directory (admin).", no_args_is_help=True)
app.add_typer(payers_app, name="payers")
app.add_typer(users_app, name="users")

console = Console()
err = Console(stderr=True)

ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", envvar="STEPDOWN_API_URL", help="Default: from the API settings."),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="STEPDOWN_TOKEN", help="Bearer token (dev mode: dev-admin)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Format = Literal["json", "fhir", "x12"]


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise fail(f"invalid settings: {problems}") from None


TOKEN_HINT = "\npass --token or set STEPDOWN_TOKEN (`stepdown dev` prints its dev tokens)"


@contextmanager
def api(
    api_url: str | None, token: str | None, unauthorized_hint: str | None = TOKEN_HINT
) -> Iterator[ApiClient]:
    """A client of the API; API problems and connection failures become a message and exit 1.

    `unauthorized_hint` follows the message of a 401 (none when a token was given).
    """
    settings = load_settings()
    url = api_url or settings.public_api_url()
    if token is None:
        token = next((t for t, role in settings.api_tokens.items() if role == "admin"), None)
    try:
        with ApiClient(url, token) as client:
            yield client
    except ApiError as problem:
        hinted = problem.status == 401 and not token and unauthorized_hint
        raise fail(problem.message + (unauthorized_hint if hinted else "")) from None
    except httpx.ConnectError:
        raise fail(f"cannot reach the API at {url}; is `stepdown dev` running?") from None
    except httpx.HTTPError as exc:
        raise fail(f"talking to {url} failed: {exc}") from None


def emit(data: Any, as_json: bool, renderable: Any = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        console.print(renderable)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read JSON from {path}: {exc}") from None


@app.command()
def dev(
    api_port: Annotated[int | None, typer.Option(help="STEPDOWN_API_PORT")] = None,
    sim_port: Annotated[int | None, typer.Option(help="STEPDOWN_SIM_PORT")] = None,
    temporal_port: Annotated[int | None, typer.Option(help="port of TEMPORAL_ADDRESS")] = None,
    ui_port: Annotated[int | None, typer.Option(help="STEPDOWN_TEMPORAL_UI_PORT")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="STEPDOWN_DATA_DIR")] = None,
    seed: Annotated[bool, typer.Option(help="Open the demo episodes.")] = True,
    grace: Annotated[float, typer.Option(help="Seconds between SIGTERM and SIGKILL.")] = 10.0,
) -> None:
    """Start Temporal, the worker, the API and the payer simulator; Ctrl-C stops them all."""
    from devstack.stack import DevStack

    overrides = {
        "STEPDOWN_DEV": "1",
        "STEPDOWN_API_PORT": api_port,
        "STEPDOWN_SIM_PORT": sim_port,
        "TEMPORAL_ADDRESS": temporal_port and f"127.0.0.1:{temporal_port}",
        "STEPDOWN_TEMPORAL_UI_PORT": ui_port,
        "STEPDOWN_DATA_DIR": data_dir,
    }
    # Through the environment, so every child process reads the same settings.
    os.environ.update({k: str(v) for k, v in overrides.items() if v})
    get_settings.cache_clear()
    stack = DevStack(load_settings(), console, seed_demo=seed, grace=grace)
    raise typer.Exit(stack.run())


@app.command()
def worker() -> None:
    """Run a Temporal worker for the episode workflow until SIGINT/SIGTERM."""
    import asyncio

    from workflows.codec import PayloadKeyError
    from workflows.connection import TemporalConnectionError

    load_settings()
    from worker import main

    try:
        asyncio.run(main())
    except (TemporalConnectionError, PayloadKeyError) as problem:
        raise fail(str(problem)) from None


@app.command("check-temporal")
def check_temporal() -> None:
    """Connect to Temporal as the worker and the API would; say what is wrong if it fails."""
    import asyncio

    from workflows.codec import PayloadKeyError
    from workflows.connection import TemporalConnectionError
    from workflows.temporal import connect

    s = load_settings()
    try:
        asyncio.run(connect(s))
    except (TemporalConnectionError, PayloadKeyError) as problem:
        raise fail(str(problem)) from None
    security = (
        "mTLS" if s.temporal_tls_cert_file else "TLS" if s.temporal_tls_enabled() else "plaintext"
    )
    if s.temporal_api_key is not None:
        security += " + API key"
    typer.echo(
        f"Temporal at {s.temporal_address}, namespace {s.temporal_namespace}: ok ({security})"
    )


@app.command("api")
def api_server(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from workflows.connection import TemporalConnectionError, load_credentials

    s = load_settings()
    try:
        load_credentials(s)  # a bad certificate stops the start here, not in a traceback
    except TemporalConnectionError as problem:
        raise fail(str(problem)) from None
    uvicorn.run(
        "api.app:create_app", factory=True, host=host or s.api_host, port=port or s.api_port
    )


@app.command()
def simulator(host: str | None = None, port: int | None = None) -> None:
    """Serve the payer simulator (uvicorn)."""
    import uvicorn

    s = load_settings()
    host, port = host or s.simulator.host, port or s.simulator.port
    uvicorn.run("payers.simulator:create_app", factory=True, host=host, port=port)


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[str | None, typer.Option(help="Default: DATABASE_URL.")] = None,
) -> None:
    """Migrate the read model to the newest schema."""
    from store.db import upgrade

    target = url or load_settings().database_url
    with console.status(f"migrating {target}…"):
        upgrade(target)
    console.print(f"{target} is at the newest schema.")


@db_app.command("reencrypt")
def db_reencrypt(
    url: Annotated[str | None, typer.Option(help="Default: DATABASE_URL.")] = None,
) -> None:
    """Move stored PHI to the active payload key (rotation), sealing plain rows too.

    After a rotation (a new STEPDOWN_PAYLOAD_ACTIVE_KEY, the old key still listed) this
    re-wraps every episode's data key (the event store is never rewritten: its PHI is sealed
    under those keys), re-seals inbox bodies, outbox billing, 837I batch files, submitted
    payloads and answers, X12 278 files, notes and attachments, and re-derives blind indexes
    and search keys;
    then the old key may be removed. Safe to run again.
    """
    from store.db import make_engine
    from store.phi import cipher_from_settings
    from store.phi_rows import reseal
    from workflows.codec import build_codec

    settings = load_settings()
    cipher = cipher_from_settings(settings)
    if cipher is None:
        raise fail("no payload key: set STEPDOWN_PAYLOAD_KEYS (and STEPDOWN_PAYLOAD_ACTIVE_KEY)")
    codec = build_codec(settings)  # notes and attachments are sealed as payloads
    engine = make_engine(url or settings.database_url)
    try:
        with console.status("re-encrypting…"), engine.begin() as connection:
            done = reseal(connection, cipher, codec)
    finally:
        engine.dispose()
    console.print(
        f"sealed with key {cipher.active_key_id}: {done.describe()}",
        soft_wrap=True,
        highlight=False,
    )


@episode_app.command("open")
def episode_open(
    file: Path, api_url: ApiUrl = None, token: Token = None, json_: AsJson = False
) -> None:
    """Open an episode from a JSON file shaped like `POST /episodes`."""
    body = read_json(file)
    with api(api_url, token) as client, console.status("opening the episode…"):
        response = client.call("POST", "/episodes", json=body)
    view = response.json()
    if not json_:
        verb = "opened" if response.status_code == 201 else "already open, unchanged"
        console.print(f"episode {view.get('episode_id')} {verb}")
    emit(view, json_, render.episode_view(view))


@episode_app.command("show")
def episode_show(
    episode_id: str, api_url: ApiUrl = None, token: Token = None, json_: AsJson = False
) -> None:
    """The episode view: state, authorization, units, deadlines, claims."""
    with api(api_url, token) as client:
        view = client.get(f"/episodes/{episode_id}")
    emit(view, json_, render.episode_view(view))


@episode_app.command("events")
def episode_events(
    episode_id: str,
    after: int = 0,
    api_url: ApiUrl = None,
    token: Token = None,
    json_: AsJson = False,
) -> None:
    """The episode's domain events, in order."""
    with api(api_url, token) as client:
        events = client.get(f"/episodes/{episode_id}/events", after=after or None)
    emit(events, json_, render.events_table(events))


@episode_app.command("history")
def episode_history(
    episode_id: str, api_url: ApiUrl = None, token: Token = None, json_: AsJson = False
) -> None:
    """The Temporal history of the episode's workflow runs."""
    with api(api_url, token) as client:
        history = client.get(f"/episodes/{episode_id}/history")
    emit(history, json_, render.history_table(history))


@episodes_app.command("list")
def episodes_list(
    state: str | None = None,
    payer: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    api_url: ApiUrl = None,
    token: Token = None,
    json_: AsJson = False,
) -> None:
    """Episode summaries from the read model, newest first."""
    with api(api_url, token) as client:
        page = client.get("/episodes", state=state, payer_id=payer, limit=limit, cursor=cursor)
    emit(page, json_, render.summaries_table(page["episodes"]))
    if page.get("next_cursor") and not json_:
        console.print(f"more: --cursor {page['next_cursor']}", highlight=False)


@app.command()
def worklist(api_url: ApiUrl = None, token: Token = None, json_: AsJson = False) -> None:
    """What needs a person, most urgent first."""
    with api(api_url, token) as client:
        items = client.get("/worklist")
    emit(items, json_, render.worklist_table(items))


@webhook_app.command("send")
def webhook_send(
    payer: str,
    file: Path,
    format: Annotated[Format, typer.Option("--format", help="Body format.")] = "json",
    secret: Annotated[str | None, typer.Option(envvar="STEPDOWN_WEBHOOK_SECRET")] = None,
    delivery_id: Annotated[str | None, typer.Option(help="Default: a fresh one.")] = None,
    api_url: ApiUrl = None,
    json_: AsJson = False,
) -> None:
    """Render a canonical JSON decision in FORMAT, sign it and post it as PAYER would."""
    from payers.formats.canonical import parse_canonical
    from payers.formats.errors import UnparseableDecision

    try:
        decision = parse_canonical(file.read_bytes())
    except (OSError, UnparseableDecision) as exc:
        raise fail(f"{file} is not a canonical decision: {exc}") from None
    settings = load_settings()
    key = secret or next(iter(settings.secrets_for(payer)), None)
    if key is None:
        key = DEV_WEBHOOK_SECRET if settings.dev_mode else None
    if key is None:
        raise fail(f"no webhook secret for {payer}: pass --secret or set STEPDOWN_WEBHOOK_SECRET")
    # A 401 here is the payer's signature, not a missing token.
    secret_hint = (
        f"\nthe signature was refused: pass the webhook secret configured for {payer} "
        "with --secret or STEPDOWN_WEBHOOK_SECRET"
    )
    with api(api_url, None, secret_hint) as client:
        response = client.send_decision(
            payer, decision, fmt=format, secret=key, timestamp=int(time.time()),
            delivery_id=delivery_id,
        )  # fmt: skip
    answer = response.json()
    emit(answer, json_, f"delivery {answer.get('delivery_id')}: {answer.get('status')} "
         f"(episode {answer.get('episode_id')})")  # fmt: skip


@claims_app.command("outbox")
def claims_outbox(
    status: Annotated[str | None, typer.Option(help="queued, batched, sent, …")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    json_: AsJson = False,
) -> None:
    """Released claims and where each stands (queued → batched → sent → accepted/rejected)."""
    with api(api_url, token) as client:
        claims = client.get("/claims/outbox", status=status)["claims"]
    lines = [
        f"{c['status']:<9} {c['episode_id']} {c['claim_id']} {c.get('batch_id') or ''}"
        for c in claims
    ]
    emit(claims, json_, "\n".join(lines) or "the outbox is empty")


@claims_app.command("export")
def claims_export(
    batch: Annotated[str | None, typer.Option(help="A batch id; default: cut one now.")] = None,
    payer: Annotated[str | None, typer.Option(help="Cut only this payer's claims.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File or directory; default: here.")
    ] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    json_: AsJson = False,
) -> None:
    """Write a batch's 837I file: the batch given, or a new one cut from every queued claim."""
    with api(api_url, token) as client:
        if batch is None:
            batch = client.post("/claims/batches", {"payer_id": payer} if payer else {})["batch_id"]
        shown = client.get(f"/claims/batches/{batch}")
        text = client.call("GET", f"/claims/batches/{batch}/x12").text
    target = output or Path(shown["file_name"])
    if target.is_dir():
        target = target / shown["file_name"]
    try:
        target.write_text(text, encoding="ascii")
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc}") from None
    result = {"batch_id": batch, "file": str(target), "claims": shown["claim_count"],
              "status": shown["status"]}  # fmt: skip
    emit(result, json_, f"batch {batch} ({shown['claim_count']} claims, {shown['status']}) "
         f"written to {target}")  # fmt: skip


@app.command()
def states(
    mermaid: Annotated[bool, typer.Option("--mermaid", help="A Mermaid diagram.")] = False,
    json_: AsJson = False,
) -> None:
    """The episode state diagram, generated by driving the domain's decider."""
    from devstack.statechart import mermaid as to_mermaid
    from devstack.statechart import transitions

    with console.status("exploring the decider…"):
        steps = transitions()
    if mermaid:
        typer.echo(to_mermaid(steps), nl=False)
    else:
        emit([asdict(step) for step in steps], json_, render.transitions_table(steps))


# -- the record: commands on the database (DATABASE_URL) and Temporal, not over the API ------

DbUrl = Annotated[str | None, typer.Option("--url", help="Default: DATABASE_URL.")]
By = Annotated[str, typer.Option("--by", help="Who does this (kept in the audit log).")]


def database(url: str | None) -> Any:
    from store.db import make_engine

    return make_engine(url or load_settings().database_url)


def audit(engine: Any, actor: str, action: str, episode_id: str | None, outcome: str) -> None:
    from datetime import UTC, datetime

    from store.ports import AuditEntry
    from store.sql import SqlAuditLog

    SqlAuditLog(engine).append(
        AuditEntry(
            actor=actor,
            role="admin",
            action=action,
            route="cli",
            episode_id=episode_id,
            outcome=outcome,
            status_code=0,
            request_id=f"cli-{os.getpid()}",
            at=datetime.now(UTC),
        )
    )


async def temporal_client(settings: Settings) -> tuple[Any, str | None]:
    """A Temporal client, or None and why not when Temporal does not answer in time."""
    import asyncio

    from workflows.codec import PayloadKeyError
    from workflows.temporal import connect

    try:
        return await asyncio.wait_for(connect(settings), timeout=5.0), None
    except (RuntimeError, OSError, TimeoutError, PayloadKeyError) as exc:
        reason = str(exc).split(":")[0] or "no answer in 5 s"
        return None, f"Temporal unreachable at {settings.temporal_address} ({reason})"


@events_app.command("verify")
def events_verify(
    episode_id: Annotated[str | None, typer.Argument(help="One episode.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every episode in the event store.")] = False,
    live: Annotated[bool, typer.Option(help="Compare with the running workflows.")] = True,
    url: DbUrl = None,
    json_: AsJson = False,
) -> None:
    """Check each chain, that seq runs 1..n, and that the fold equals the live workflow.

    Exits 1 when anything differs, 2 when nothing was asked.
    """
    import asyncio

    from devstack.records import compare_live
    from store.event_store import SqlEventStore
    from store.sql import SqlReadModel
    from store.verify import check_stored

    if (episode_id is None) == (not all_):
        err.print("give one EPISODE or --all")
        raise typer.Exit(2)
    settings = load_settings()
    engine = database(url)
    cipher = cipher_from_settings(get_settings())
    store, read_model = SqlEventStore(engine, cipher), SqlReadModel(engine, cipher)
    ids = store.episode_ids() if all_ else [episode_id]

    async def run() -> tuple[list[Any], str | None]:
        client, skipped = await temporal_client(settings) if live else (None, "--no-live")
        checks = []
        for one in ids:
            check = check_stored(store, read_model, one)
            if client is not None and check.events:
                check = await compare_live(
                    client, check, lambda one=one: check_stored(store, read_model, one)
                )
            checks.append(check)
        return checks, skipped

    checks, skipped = asyncio.run(run())
    engine.dispose()
    failed = [c for c in checks if not c.ok]
    if json_:
        rows = [
            {"episode_id": c.episode_id, "events": len(c.events), "ok": c.ok,
             "problems": c.problems, "notes": c.notes}
            for c in checks
        ]  # fmt: skip
        typer.echo(json.dumps({"live": skipped or "compared", "episodes": rows}, indent=2))
    else:
        for c in checks:
            mark = "[green]ok[/]  " if c.ok else "[bold red]FAIL[/]"
            notes = f" — {'; '.join(c.notes)}" if c.notes else ""
            console.print(f"{mark} {c.episode_id}: {len(c.events)} events{notes}", highlight=False)
            for problem in c.problems:
                console.print(f"      {problem}", highlight=False, soft_wrap=True)
        if skipped:
            console.print(f"live comparison skipped: {skipped}", highlight=False)
        console.print(f"{len(checks)} episode(s) checked, {len(failed)} with differences")
    if failed:
        raise typer.Exit(1)


@events_app.command("hold")
def events_hold(
    episode_id: str,
    reason: Annotated[str, typer.Option(help="The matter, request or audit it serves.")],
    by: By,
    url: DbUrl = None,
) -> None:
    """Place a legal hold: the episode's events cannot be purged until it is released."""
    from datetime import UTC, datetime

    from store.event_store import SqlEventStore

    engine = database(url)
    try:
        SqlEventStore(engine).place_hold(episode_id, reason, by, datetime.now(UTC))
    except ValueError as exc:
        raise fail(str(exc)) from None
    audit(engine, by, "events.hold", episode_id, "placed")
    console.print(f"legal hold placed on {episode_id}", highlight=False)


@events_app.command("release")
def events_release(episode_id: str, by: By, url: DbUrl = None) -> None:
    """Release the episode's legal holds."""
    from datetime import UTC, datetime

    from store.event_store import SqlEventStore

    engine = database(url)
    released = SqlEventStore(engine).release_holds(episode_id, by, datetime.now(UTC))
    if not released:
        raise fail(f"{episode_id} has no active legal hold")
    audit(engine, by, "events.release", episode_id, f"released {released}")
    console.print(f"{released} legal hold(s) on {episode_id} released", highlight=False)


@events_app.command("purge")
def events_purge(
    episode_ids: Annotated[list[str] | None, typer.Argument(help="Episodes to purge.")] = None,
    expired: Annotated[
        bool, typer.Option("--expired", help="Every episode whose retention ran out.")
    ] = False,
    by: By = "",
    url: DbUrl = None,
) -> None:
    """Delete the events of closed episodes past STEPDOWN_EVENT_RETENTION_YEARS.

    Refuses held, open and too-young episodes; a named episode refused exits 1.
    """
    from datetime import UTC, datetime

    from store.event_store import PurgeRefused, SqlEventStore

    if not by.strip():
        raise fail("--by is required: a purge is kept in the audit log with who ran it")
    if bool(episode_ids) == expired:
        raise fail("name EPISODE(s) or pass --expired")
    settings = load_settings()
    engine = database(url)
    store = SqlEventStore(engine, cipher_from_settings(get_settings()))
    names = episode_ids or store.episode_ids()
    refused = 0
    for episode_id in names:
        try:
            purged = store.purge(episode_id, by, datetime.now(UTC), settings.event_retention_years)
        except PurgeRefused as exc:
            refused += 1
            if episode_ids:
                err.print(f"refused: {exc}", highlight=False)
            continue
        audit(engine, by, "events.purge", episode_id, f"purged {purged.events} events")
        console.print(f"purged {episode_id}: {purged.events} events", highlight=False)
    if episode_ids and refused:
        raise typer.Exit(1)
    if expired:
        console.print(f"{len(names) - refused} purged, {refused} kept", highlight=False)


@db_app.command("rebuild")
def db_rebuild(url: DbUrl = None, json_: AsJson = False) -> None:
    """Rebuild every derived table (summaries, claims, worklist) from the event store.

    One transaction: the API keeps reading the old rows until the commit swaps them.
    """
    from rich.progress import Progress

    from store.rebuild import rebuild

    engine = database(url)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("rebuilding from the event store", total=None)

        def step(done: int, total: int, episode_id: str) -> None:
            progress.update(task, completed=done, total=total, description=episode_id)

        report = rebuild(engine, step, cipher_from_settings(get_settings()))
    engine.dispose()
    if json_:
        typer.echo(json.dumps(asdict(report), indent=2))
    else:
        created = f"; created {', '.join(report.created_tables)}" if report.created_tables else ""
        console.print(
            f"rebuilt {report.episodes} episode(s) from {report.events} events: "
            f"{report.claims} claims, {report.worklist_items} worklist items{created}",
            highlight=False,
            soft_wrap=True,
        )
        for episode_id, reason in report.failed.items():
            err.print(f"not rebuilt: {episode_id}: {reason}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@episode_app.command("export")
def episode_export(
    episode_id: str,
    by: By,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    url: DbUrl = None,
) -> None:
    """One JSON document: the episode's events from the event store and every Temporal run
    still retained, for a records request."""
    import asyncio

    from devstack.records import export_document
    from store.event_store import SqlEventStore

    settings = load_settings()
    engine = database(url)
    store = SqlEventStore(engine, cipher_from_settings(get_settings()))
    if not store.recorded(episode_id) and store.purged(episode_id) is None:
        raise fail(f"no episode {episode_id} in the event store")

    async def run() -> dict[str, Any]:
        client, _ = await temporal_client(settings)
        return await export_document(store, client, settings.task_queue, episode_id)

    document = asyncio.run(run())
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        err.print(f"wrote {output}", highlight=False)
    audit(engine, by, "episode.export", episode_id, f"{len(document['events'])} events")
    engine.dispose()


@payers_app.command("list")
def payers_list(api_url: ApiUrl = None, token: Token = None, json_: AsJson = False) -> None:
    """Every payer in the directory: plan type, channel, endpoint, secret references."""
    with api(api_url, token) as client:
        payers = client.get("/payers")
    emit(payers, json_, render.payers_table(payers))


@payers_app.command("show")
def payers_show(
    payer_id: str, api_url: ApiUrl = None, token: Token = None, json_: AsJson = False
) -> None:
    """One payer's settings."""
    with api(api_url, token) as client:
        payer = client.get(f"/payers/{payer_id}")
    emit(payer, json_, render.payers_table([payer]))


@payers_app.command("set")
def payers_set(
    payer_id: str,
    plan_type: Annotated[str, typer.Option(help="medicaid_managed_care, commercial, …")],
    channel: Annotated[str, typer.Option(help="pas, x12 or webhook")],
    display_name: Annotated[str | None, typer.Option()] = None,
    pas_base_url: Annotated[str | None, typer.Option(help="PAS: [base] of Claim/$submit")] = None,
    token_url: Annotated[str | None, typer.Option(help="PAS: the OAuth token endpoint")] = None,
    client_id: Annotated[str | None, typer.Option(help="PAS: our registered client id")] = None,
    private_key: Annotated[
        str | None, typer.Option(help="PAS: env:NAME or file:/path of the PEM signing key")
    ] = None,
    key_id: Annotated[str | None, typer.Option(help="PAS: the key's kid")] = None,
    algorithm: Annotated[str, typer.Option(help="PAS: RS384 or ES384")] = "RS384",
    webhook_secret: Annotated[
        list[str] | None,
        typer.Option(help="env:NAME or file:/path; current first, then previous (repeat)"),
    ] = None,
    mailbox: Annotated[str | None, typer.Option(help="X12: the clearinghouse mailbox")] = None,
    api_url: ApiUrl = None,
    token: Token = None,
    json_: AsJson = False,
) -> None:
    """Register or replace a payer (PUT /payers/{payer_id}); secrets are references only."""
    body: dict[str, Any] = {"plan_type": plan_type, "channel": channel}
    body |= {"display_name": display_name, "clearinghouse_mailbox": mailbox}
    body["webhook_secrets"] = list(webhook_secret or [])
    if pas_base_url or token_url or client_id or private_key:
        body["pas"] = {
            "base_url": pas_base_url,
            "token_url": token_url,
            "client_id": client_id,
            "private_key": private_key,
            "key_id": key_id,
            "algorithm": algorithm,
        }
    with api(api_url, token) as client:
        response = client.call("PUT", f"/payers/{payer_id}", json=body)
    payer = response.json()
    if not json_:
        verb = "registered" if response.status_code == 201 else "updated"
        console.print(f"payer {payer_id} {verb}")
    emit(payer, json_, render.payers_table([payer]))


@episodes_app.command("stuck")
def episodes_stuck(
    attempts: Annotated[int, typer.Option(min=1, help="Failed attempts in a row.")] = 3,
    json_: AsJson = False,
) -> None:
    """Running episodes whose workflow task keeps failing (see docs/reliability.md)."""
    import asyncio

    from workflows.operations import stuck_episodes

    async def run() -> list[Any]:
        client, problem = await temporal_client(load_settings())
        if client is None:
            raise fail(problem or "Temporal unreachable")
        return await stuck_episodes(client, attempts)

    stuck = asyncio.run(run())
    rows = [asdict(s) for s in stuck]
    if json_:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no stuck episode", highlight=False)
    for row in rows:
        line = f"{row['episode_id']}  run {row['run_id']}  failed {row['attempts']} times"
        console.print(line, highlight=False)


@episode_app.command("reset")
def episode_reset(
    episode_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Kept in the workflow's history.")],
    by: By,
    url: DbUrl = None,
) -> None:
    """Start the episode again from its last good workflow task (runbook: docs/reliability.md)."""
    import asyncio

    from workflows.operations import reset_to_last_good_task

    async def run() -> Any:
        client, problem = await temporal_client(load_settings())
        if client is None:
            raise fail(problem or "Temporal unreachable")
        return await reset_to_last_good_task(client, episode_id, f"{reason} (by {by})")

    try:
        done = asyncio.run(run())
    except ValueError as exc:
        raise fail(str(exc)) from None
    engine = database(url)
    detail = f"run {done.old_run_id} -> {done.new_run_id} at event {done.reset_to_event}: {reason}"
    audit(engine, by, "episode.reset", episode_id, detail)
    engine.dispose()
    console.print(f"reset {episode_id}: {detail}", highlight=False)


@contextmanager
def user_store() -> Iterator[Any]:
    """The users table of DATABASE_URL; a refusal or a missing schema is a message and exit 1."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.people import PeopleError
    from store.db import make_engine
    from store.sql_users import SqlUserStore

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        yield SqlUserStore(engine)
    except PeopleError as exc:
        raise fail(str(exc)) from None
    except (OperationalError, ProgrammingError):
        raise fail(
            f"cannot use the users table of {engine.url!r}; run `stepdown db upgrade` first"
        ) from None
    finally:
        engine.dispose()


def utc_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[
        list[str], typer.Option("--role", help="intake, billing, ops or admin; repeatable.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="Full name, as pages show it.")] = None,
) -> None:
    """Add a person; prints their one-time password (shown once, stored as argon2id)."""
    from api.people import add_user

    with user_store() as users:
        record, password = add_user(users, username, role, name, utc_now())
    added = f"added {record.username} ({record.display_name}), roles {', '.join(record.roles)}"
    console.print(added, markup=False, highlight=False)
    console.print("one-time password (shown once; hand it over privately):", highlight=False)
    typer.echo(password)


@users_app.command("token")
def users_token(username: str) -> None:
    """Issue USERNAME a personal API token: printed once, stored as its SHA-256 only."""
    from api.people import issue_personal_token

    with user_store() as users:
        token = issue_personal_token(users, username, utc_now())
    err.print(f"personal API token of {username} (shown once; Authorization: Bearer <token>):")
    typer.echo(token)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable USERNAME: every console session and personal token is revoked at once."""
    from api.people import disable_user

    with user_store() as users:
        record = disable_user(users, username, utc_now())
    console.print(f"disabled {record.username}; their sessions and tokens are revoked")


if __name__ == "__main__":
    app()

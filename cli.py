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

app = typer.Typer(help="stepdown: ASAM step-down authorizations on Temporal.", no_args_is_help=True)
episode_app = typer.Typer(help="One episode: open, show, events, history.", no_args_is_help=True)
episodes_app = typer.Typer(help="Many episodes.", no_args_is_help=True)
db_app = typer.Typer(help="The read model's database.", no_args_is_help=True)
webhook_app = typer.Typer(help="Payer webhooks, sent like a payer.", no_args_is_help=True)
users_app = typer.Typer(
    help="People: add, personal API tokens, disable (on DATABASE_URL).", no_args_is_help=True
)
app.add_typer(episode_app, name="episode")
app.add_typer(episodes_app, name="episodes")
app.add_typer(db_app, name="db")
app.add_typer(webhook_app, name="webhook")
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

    from worker import main

    asyncio.run(main())


@app.command("api")
def api_server(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    s = load_settings()
    uvicorn.run(
        "api.app:create_app", factory=True, host=host or s.api_host, port=port or s.api_port
    )


@app.command()
def simulator(host: str | None = None, port: int | None = None) -> None:
    """Serve the payer simulator (uvicorn)."""
    import uvicorn

    s = load_settings()
    host, port = host or s.simulator_host, port or s.simulator_port
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

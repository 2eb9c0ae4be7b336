"""The `stepdown` CLI against the real API: the app served over HTTP by uvicorn, the dev
server, a worker projecting into SQL. Malformed, unauthenticated, duplicate and out-of-order
input gets a readable message and exit 1, and changes nothing.

tests/devstack/test_cli.py checks the rendering against a contract app; these check what the
commands do to real episodes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from click.testing import Result
from typer.testing import CliRunner

from cli import app
from tests.support.api_client import Api
from tests.support.api_stack import Stack
from tests.support.http import served
from tests.support.intake import approval, intake_body, new_id
from tests.support.webhooks import DEFAULT_SECRET


@pytest_asyncio.fixture(loop_scope="session")
async def url(stack: Stack) -> AsyncIterator[str]:
    """The test stack's app on a real port, served from the session's event loop."""
    async with served(stack.app, log_level="warning") as address:
        yield address


async def cli(*args: str, token: str | None = None, server: str) -> Result:
    """Runs a command in a thread, so the loop serving the API keeps serving."""
    extra = ["--api-url", server] + (["--token", token] if token else [])
    runner = CliRunner(env={"STEPDOWN_TOKEN": None, "STEPDOWN_DEV": None})
    return await asyncio.to_thread(runner.invoke, app, [*args, *extra], catch_exceptions=False)


def written(tmp_path: Path, body: Any, name: str = "body.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body, default=str))
    return path


async def versions(api: Api, episode_id: str) -> tuple[int, int]:
    """The workflow's version and the events the read model holds, once caught up."""
    view = await api.view(episode_id)
    await api.projected(episode_id, view["version"])
    events = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
    return view["version"], len(events.json())


async def test_open_twice_is_idempotent_and_a_changed_body_is_refused(
    api: Api, url: str, tmp_path: Path
) -> None:
    body = intake_body(episode_id=new_id())
    file = written(tmp_path, body)

    first = await cli("episode", "open", str(file), token="t-intake", server=url)
    again = await cli("episode", "open", str(file), token="t-intake", server=url)
    assert first.exit_code == 0, first.stderr
    assert f"episode {body['episode_id']} opened" in first.stdout
    assert again.exit_code == 0, again.stderr
    assert "already open, unchanged" in again.stdout
    before = await versions(api, body["episode_id"])

    changed = written(tmp_path, body | {"urgency": "expedited"}, "changed.json")
    refused = await cli("episode", "open", str(changed), token="t-intake", server=url)

    assert refused.exit_code == 1
    assert "409" in refused.stderr
    assert await versions(api, body["episode_id"]) == before


async def test_malformed_and_invalid_episodes_are_refused_and_nothing_is_opened(
    api: Api, url: str, tmp_path: Path
) -> None:
    episode_id = new_id()
    not_json = written(tmp_path, '{"episode_id": "' + episode_id + '", ', "broken.json")
    invalid = written(
        tmp_path, intake_body(episode_id=episode_id, from_level="2.1", to_level="2.1")
    )

    broken = await cli("episode", "open", str(not_json), token="t-intake", server=url)
    refused = await cli("episode", "open", str(invalid), token="t-intake", server=url)

    assert broken.exit_code == 1
    assert "cannot read JSON" in broken.stderr
    assert refused.exit_code == 1
    assert "422" in refused.stderr and "level" in refused.stderr
    missing = await api.call("GET", f"/episodes/{episode_id}", "ops")
    assert missing.status_code == 404


async def test_without_a_token_or_with_the_wrong_role_nothing_is_opened(
    api: Api, url: str, tmp_path: Path
) -> None:
    body = intake_body(episode_id=new_id())
    file = written(tmp_path, body)

    anonymous = await cli("episode", "open", str(file), server=url)
    unknown = await cli("episode", "open", str(file), token="t-nobody", server=url)
    billing = await cli("episode", "open", str(file), token="t-billing", server=url)

    assert anonymous.exit_code == 1
    assert "401" in anonymous.stderr and "STEPDOWN_TOKEN" in anonymous.stderr
    assert unknown.exit_code == 1 and "401" in unknown.stderr
    assert billing.exit_code == 1 and "403" in billing.stderr
    missing = await api.call("GET", f"/episodes/{body['episode_id']}", "ops")
    assert missing.status_code == 404


async def test_show_of_an_unknown_episode_names_it(url: str) -> None:
    episode_id = new_id()
    result = await cli("episode", "show", episode_id, token="t-ops", server=url)

    assert result.exit_code == 1
    assert "404" in result.stderr and episode_id in result.stderr


async def test_a_decision_sent_twice_applies_once_and_a_late_pend_is_refused(
    api: Api, url: str, tmp_path: Path
) -> None:
    view = await api.open()
    episode_id, trace = view["episode_id"], view["trace_number"]
    await api.traced(trace)  # as a real payer, it answers once the request was sent
    decision = written(tmp_path, {"trace_number": trace, "action": "A1", **approval(units=12)})
    send = ("webhook", "send", view["payer"]["id"], str(decision), "--secret", DEFAULT_SECRET)
    delivery = ("--delivery-id", f"cli-{new_id()}")

    first = await cli(*send, "--format", "x12", *delivery, server=url)
    again = await cli(*send, "--format", "x12", *delivery, server=url)

    assert first.exit_code == 0, first.stderr
    assert f"applied (episode {episode_id})" in first.stdout
    assert again.exit_code == 0, again.stderr
    assert "duplicate" in again.stdout
    after = await api.view(episode_id)
    assert (after["state"], after["authorization"]["units"]) == ("authorized", 12)
    before = await versions(api, episode_id)

    pend = written(tmp_path, {"trace_number": trace, "action": "A4", "reason": "notes"}, "a4")
    late = await cli("webhook", "send", view["payer"]["id"], str(pend), "--format", "fhir",
                     "--secret", DEFAULT_SECRET, server=url)  # fmt: skip
    forged = await cli(*send, "--secret", "not-the-payers-secret", server=url)

    assert late.exit_code == 1 and "409" in late.stderr
    assert forged.exit_code == 1 and "401" in forged.stderr
    assert await versions(api, episode_id) == before
    events = await api.call("GET", f"/episodes/{episode_id}/events", "ops")
    granted = [e for e in events.json() if e["type"] == "authorization_granted"]
    assert len(granted) == 1


async def test_reads_print_what_the_api_holds(api: Api, url: str) -> None:
    view = await api.open()
    decided = await api.decide(view, "A1", **approval())
    assert decided.status_code == 202, decided.text
    episode_id, payer = view["episode_id"], view["payer"]["id"]
    version, _ = await versions(api, episode_id)

    shown = await cli("episode", "show", episode_id, "--json", token="t-ops", server=url)
    events = await cli("episode", "events", episode_id, "--json", token="t-ops", server=url)
    history = await cli("episode", "history", episode_id, "--json", token="t-ops", server=url)
    listed = await cli("episodes", "list", "--payer", payer, "--json", token="t-ops", server=url)
    table = await cli("episode", "show", episode_id, token="t-ops", server=url)

    assert json.loads(shown.stdout) == await api.view(episode_id)
    assert [e["seq"] for e in json.loads(events.stdout)] == list(range(1, version + 1))
    assert any(e["type"] == "WorkflowExecutionStarted" for e in json.loads(history.stdout))
    listed_here = json.loads(listed.stdout)["episodes"]
    assert episode_id in [e["episode_id"] for e in listed_here]
    assert {e["payer_id"] for e in listed_here} == {payer}
    assert "authorized" in table.stdout


async def test_a_refused_signature_points_at_the_secret_not_at_a_token(
    api: Api, url: str, tmp_path: Path
) -> None:
    view = await api.open()
    decision = written(
        tmp_path, {"trace_number": view["trace_number"], "action": "A1", **approval()}
    )

    forged = await cli("webhook", "send", view["payer"]["id"], str(decision),
                       "--secret", "not-the-payers-secret", server=url)  # fmt: skip

    assert forged.exit_code == 1 and "401" in forged.stderr
    assert "--secret" in forged.stderr and "STEPDOWN_TOKEN" not in forged.stderr

"""X12 through the clearinghouse mailbox, end to end over real parts.

The worker's X12 gateway writes the 278 into the mailbox (a directory, or a real SFTP
server); the simulator's clearinghouse answers with a 999 and a 278 response; the API's
poller puts both in the webhook inbox, which applies the decision to the episode.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from api.app import create_app
from api.deps import sql_deps
from api.inbox import MAILBOX_FILE_HEADER
from api.mailbox_poller import MailboxPoller, delivery_id, report_rejected_submissions
from api.redelivery import Redelivery
from domain.model import PayerDecision
from payers.clearinghouse import ClearinghousePeer
from payers.formats.x12_render import x12_body
from payers.mailbox import DirectoryMailbox, MailboxLayout
from payers.x12_gateway import X12Parties, X12PayerGateway
from store.sql import SqlReadModel
from store.x12_ledger import SqlX12Ledger, SubmissionRejection, X12Submission
from tests.support.api_client import Api
from tests.support.api_stack import SEEDED_PAYERS, Stack, api_settings, register_payers
from tests.support.fakes import FakePorts
from tests.support.mailboxes import Box, box
from tests.support.polling import eventually
from tests.support.temporal import running_worker
from workflows.episode import EpisodeWorkflow

__all__ = ["box"]
PARTIES = X12Parties("STEPDOWN", "CLEARINGHOUSE", "Stepdown IOP", "1234567893", usage="T")
pytestmark = pytest.mark.slow


@dataclass
class X12Stack:
    api: Api
    box: Box
    ledger: SqlX12Ledger
    poller: MailboxPoller
    clearinghouse: ClearinghousePeer

    async def sent(self, trace_number: str) -> X12Submission:
        """Waits until the worker has written the 278 of `trace_number`."""

        async def written() -> X12Submission | None:
            found = await asyncio.to_thread(self.ledger.submission_for_trace, trace_number)
            return found if found and found.written_at else None

        return await eventually(written)

    async def status(self, delivery: str) -> str:
        entry = await asyncio.to_thread(self.api.deps.inbox.get, delivery)
        assert entry is not None
        return entry.status

    def inbound(self) -> list[str]:
        folder = self.box.root / "inbound"
        return sorted(os.listdir(folder)) if folder.exists() else []

    def drop(self, name: str, body: bytes) -> None:
        (self.box.root / "inbound").mkdir(parents=True, exist_ok=True)
        (self.box.root / "inbound" / name).write_bytes(body)


async def x12_stack(
    env: WorkflowEnvironment, engine: Engine, mailbox_box: Box
) -> AsyncIterator[X12Stack]:
    queue = f"tq-x12-{uuid.uuid4().hex}"
    config = api_settings(STEPDOWN_TASK_QUEUE=queue)
    ledger = SqlX12Ledger(engine)
    gateway = X12PayerGateway(mailbox_box.mailbox, ledger, PARTIES)
    fakes = FakePorts()
    activities = EpisodeActivities(gateway, SqlReadModel(engine), fakes.notifier, fakes.outbox)
    async with running_worker(env.client, activities, [EpisodeWorkflow], queue):
        deps = sql_deps(engine, env.client, config)
        register_payers(deps.directory(), SEEDED_PAYERS)
        app = create_app(config, deps=deps)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepdown.test") as http:
            api = Api(http, Stack(app, deps, config, engine, fakes))
            poller = MailboxPoller(deps, mailbox_box.mailbox, ledger, timeout=15)
            yield X12Stack(api, mailbox_box, ledger, poller, ClearinghousePeer(mailbox_box.peer))


@pytest_asyncio.fixture(loop_scope="session")
async def x12(dev_env: WorkflowEnvironment, api_engine: Engine, box: Box):
    """On each database, with the mailbox on a directory and on a real SFTP server."""
    async for stack in x12_stack(dev_env, api_engine, box):
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def x12_dir(dev_env: WorkflowEnvironment, api_engine: Engine, tmp_path: Path):
    """The directory mailbox only: for the cases the mailbox adapter does not change."""
    root, layout = tmp_path / "mailbox", MailboxLayout()
    local = Box(DirectoryMailbox(root, layout), DirectoryMailbox(root, layout.peer()), root)
    async for stack in x12_stack(dev_env, api_engine, local):
        yield stack


async def test_a_278_out_and_its_278_response_in_become_the_episodes_decision(x12: X12Stack):
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])

    assert await x12.clearinghouse.run_once() == 1
    assert sorted(x12.inbound()) == [
        f"278R-{submission.control_number:09d}.x12",
        f"999-{submission.control_number}.x12",
    ]
    assert await x12.poller.run_once() == 2

    authorized = await x12.api.view(view["episode_id"])
    assert authorized["state"] == "authorized"
    assert x12.inbound() == []
    [ack] = await asyncio.to_thread(x12.ledger.acknowledgements, view["episode_id"])
    assert (ack.kind, ack.accepted, ack.trace_number) == ("999", True, view["trace_number"])
    response = (x12.box.root / "archive" / f"278R-{submission.control_number:09d}.x12").read_bytes()
    assert await x12.status(delivery_id(response)) == "applied"


async def test_the_same_response_twice_is_one_delivery_applied_once(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    await x12.sent(view["trace_number"])
    await x12.clearinghouse.run_once()
    response_name = next(name for name in x12.inbound() if name.startswith("278R"))
    response = (x12.box.root / "inbound" / response_name).read_bytes()
    await x12.poller.run_once()
    version = (await x12.api.view(view["episode_id"]))["version"]

    x12.drop("resent-by-clearinghouse.x12", response)
    await x12.poller.run_once()

    assert (await x12.api.view(view["episode_id"]))["version"] == version
    assert await x12.status(delivery_id(response)) == "applied"
    assert x12.inbound() == []


async def test_a_999_rejection_is_kept_with_its_episode_trace_and_errors(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    # A 278 the clearinghouse finds broken: the UM segment (required in 2000E) is gone.
    path = x12.box.root / "outbound" / submission.file_name
    path.write_bytes(b"".join(line for line in path.read_bytes().splitlines(True)
                              if not line.startswith(b"UM*HS*I*")))  # fmt: skip

    await x12.clearinghouse.run_once()
    assert x12.inbound() == [f"999-{submission.control_number}.x12"]
    await x12.poller.run_once()

    reported: list[SubmissionRejection] = []

    async def report(rejection: SubmissionRejection) -> None:
        if rejection.episode_id != view["episode_id"]:
            raise RuntimeError("another test's episode: left for its own report")
        reported.append(rejection)

    clock = x12.api.deps.clock
    assert await report_rejected_submissions(x12.ledger, report, clock) == 1
    assert await report_rejected_submissions(x12.ledger, report, clock) == 0
    [mine] = reported
    assert (mine.trace_number, mine.purpose) == (view["trace_number"], "initial")
    assert "required segment missing (3) segment UM" in mine.reason
    assert (await x12.api.view(view["episode_id"]))["state"] == "auth_requested"


async def test_a_broken_interchange_gets_a_ta1_rejection_matched_to_its_278(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    path = x12.box.root / "outbound" / submission.file_name
    number = f"{submission.control_number:09d}".encode()
    path.write_bytes(path.read_bytes().replace(b"IEA*1*" + number, b"IEA*1*000000000"))

    await x12.clearinghouse.run_once()
    await x12.poller.run_once()

    [ack] = await asyncio.to_thread(x12.ledger.acknowledgements, view["episode_id"])
    assert (ack.kind, ack.accepted, ack.control_number) == ("TA1", False, submission.control_number)
    assert "do not match" in ack.reason


async def test_an_unreadable_file_is_kept_rejected_and_moved_out_of_the_way(x12_dir: X12Stack):
    x12 = x12_dir
    garbage = f"not x12 {uuid.uuid4()}".encode()
    x12.drop("garbage.x12", garbage)

    await x12.poller.run_once()

    assert await x12.status(delivery_id(garbage)) == "rejected"
    assert x12.inbound() == []


async def test_a_response_to_a_trace_we_never_sent_is_unmatched(x12_dir: X12Stack):
    x12 = x12_dir
    stranger = x12_body(PayerDecision(trace_number=f"NOPE-{uuid.uuid4().hex}", action="A3"))
    x12.drop("stranger.x12", stranger)

    await x12.poller.run_once()

    assert await x12.status(delivery_id(stranger)) == "unmatched"


async def test_the_api_lifespan_polls_the_mailbox_on_its_interval(
    x12_dir: X12Stack, tmp_path: Path
):
    x12 = x12_dir
    view = await x12.api.open()
    await x12.sent(view["trace_number"])
    await x12.clearinghouse.run_once()
    settings = x12.api.stack.settings.model_copy(
        update={"mailbox_dir": x12.box.root, "mailbox_poll_interval_seconds": 0.1}
    )
    # The API's wiring builds the mailbox of these settings; the lifespan polls it.
    deps = sql_deps(x12.api.stack.engine, x12.api.deps.episodes.client, settings)
    app = create_app(settings, deps=deps)

    async with app.router.lifespan_context(app):

        async def authorized() -> bool:
            return (await x12.api.view(view["episode_id"]))["state"] == "authorized"

        await eventually(authorized)

    assert x12.inbound() == []


async def test_a_response_read_before_its_999_is_applied_all_the_same(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    await x12.clearinghouse.run_once()
    # The 278 response is the older file, so the poller takes it before the 999.
    response = x12.box.root / "inbound" / f"278R-{submission.control_number:09d}.x12"
    os.utime(response, (1, 1))

    await x12.poller.run_once()

    assert (await x12.api.view(view["episode_id"]))["state"] == "authorized"
    [ack] = await asyncio.to_thread(x12.ledger.acknowledgements, view["episode_id"])
    assert ack.accepted


async def test_a_999_posted_to_the_webhook_is_refused_and_not_recorded(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    path = x12.box.root / "outbound" / submission.file_name
    path.write_bytes(path.read_bytes().replace(b"UM*HS*I*", b"UM*XX*I*"))
    await x12.clearinghouse.run_once()
    forged = (x12.box.root / "inbound" / f"999-{submission.control_number}.x12").read_bytes()

    answer = await x12.api.webhook(view["payer"]["id"], forged, "application/edi-x12")

    assert answer.status_code == 422 and answer.json()["code"] == "unparseable"
    assert await asyncio.to_thread(x12.ledger.acknowledgements, view["episode_id"]) == []


async def test_a_file_kept_before_a_crash_is_finished_by_the_redelivery_loop(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    await x12.clearinghouse.run_once()
    files = {name: (x12.box.root / "inbound" / name).read_bytes() for name in x12.inbound()}
    long_ago = x12.api.deps.clock() - timedelta(minutes=5)
    # The poller stored both rows, then the process died before processing them.
    for name, body in files.items():
        await asyncio.to_thread(
            x12.api.deps.inbox.receive, delivery_id(body), submission.payer_id,
            "application/edi-x12", {MAILBOX_FILE_HEADER: name}, body, long_ago,
        )  # fmt: skip

    await Redelivery(x12.api.deps, timeout=10, grace=timedelta(seconds=60)).run_once()

    assert (await x12.api.view(view["episode_id"]))["state"] == "authorized"
    [ack] = await asyncio.to_thread(x12.ledger.acknowledgements, view["episode_id"])
    assert ack.accepted
    assert {await x12.status(delivery_id(body)) for body in files.values()} == {"applied"}


async def test_a_999_rejection_becomes_submission_failed_and_ops_can_resend(x12_dir: X12Stack):
    x12 = x12_dir
    view = await x12.api.open()
    submission = await x12.sent(view["trace_number"])
    path = x12.box.root / "outbound" / submission.file_name
    path.write_bytes(b"".join(line for line in path.read_bytes().splitlines(True)
                              if not line.startswith(b"UM*HS*I*")))  # fmt: skip
    await x12.clearinghouse.run_once()
    await x12.poller.run_once()
    assert await x12.poller.report_rejections() >= 1

    async def failures() -> list[dict[str, Any]] | None:
        events = await x12.api.call("GET", f"/episodes/{view['episode_id']}/events", "ops")
        found = [e for e in events.json() if e["type"] == "submission_failed"]
        return found or None

    failed = await eventually(failures)
    assert len(failed) == 1 and "clearinghouse rejected the 278" in failed[0]["data"]["reason"]
    assert "payer_decision_due" not in [
        d["kind"] for d in (await x12.api.view(view["episode_id"]))["deadlines"]
    ]
    # Reported once: a second round finds nothing new for this episode.
    await x12.poller.report_rejections()
    assert len(await eventually(failures)) == 1
    retried = await x12.api.call(
        "POST", f"/episodes/{view['episode_id']}/failures/retry", "ops", json={}
    )
    assert retried.status_code == 200, retried.text
    key = f"{view['episode_id']}:{view['trace_number']}:initial:retry-1"

    async def resent() -> X12Submission | None:
        return await asyncio.to_thread(x12.ledger.submission, key)

    assert (await eventually(resent)).trace_number == view["trace_number"]

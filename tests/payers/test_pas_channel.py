"""The Da Vinci PAS channel against the payer simulator over real HTTP: token exchange,
`$submit`, the answer kept in the webhook inbox and the submissions log, `$inquire` after a
pend; the channel gateway's dispatch by the payer directory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine

from activities.ports import InvalidRequest, PayerRequest
from payers.channels import ChannelGateway
from payers.formats import parse_decision
from payers.formats.pas_request import Provider
from payers.pas_gateway import PasGateway
from payers.simulator import create_app
from store.db import make_engine
from store.payers import PayerSettings
from store.sql import SqlWebhookInbox
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from tests.payers.test_simulator import payer_request
from tests.support.db import migrated_database
from tests.support.http import served
from tests.support.pas_keys import KeyPair, key_pair
from tests.support.payer_fakes import RecordingOutboundGateway
from tests.support.simulator_config import config

PROVIDER = Provider("Riverside CMHC", "1234567893", "Ada Byron King", "1245319599")
CLIENT = "stepdown-test"


@dataclass
class Channel:
    app: FastAPI
    url: str
    keys: KeyPair
    directory: SqlPayerDirectory
    submissions: SqlSubmissionLog
    inbox: SqlWebhookInbox
    pas: PasGateway

    def register(self, payer_id: str, private_ref: str | None = None, **pas: str) -> None:
        endpoint = {
            "base_url": f"{self.url}/fhir",
            "token_url": f"{self.url}/fhir/auth/token",
            "client_id": CLIENT,
            "private_key": private_ref or self.keys.private_ref,
            "algorithm": "ES384",
        } | pas
        settings = {"plan_type": "medicaid_managed_care", "channel": "pas", "pas": endpoint}
        self.directory.put(payer_id, PayerSettings.model_validate(settings), datetime.now(UTC))

    def mix(self, weights: dict[str, float]) -> None:
        self.app.state.simulator.config.mix = weights


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_database("sqlite", tmp_path) as url:
        created = make_engine(url)
        yield created
        created.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def channel(engine: Engine, tmp_path: Path) -> AsyncIterator[Channel]:
    keys = key_pair(tmp_path)
    app = create_app(config=config(mix={"A1": 1.0}, pas_clients={CLIENT: keys.public_pem}))
    async with served(app, log_level="warning") as url:
        app.state.pas_config.token_url = f"{url}/fhir/auth/token"
        directory, submissions = SqlPayerDirectory(engine), SqlSubmissionLog(engine)
        inbox = SqlWebhookInbox(engine)
        pas = PasGateway(directory, submissions, inbox, PROVIDER)
        yield Channel(app, url, keys, directory, submissions, inbox, pas)


def pas_request(payer_id: str = "pas-acme") -> PayerRequest:
    request = payer_request(payer_id=payer_id)
    payload = request.payload | {
        "member_id": "MCD1", "diagnoses": ["F33.1"], "from_level": "2.5", "to_level": "2.1",
        "asam_edition": 3, "dimensions": {"1": 0, "2": 1}, "urgency": "standard",
        "patient": {"name": "Jane Roe", "birth_date": "1990-04-01"},
    }  # fmt: skip
    return request.model_copy(update={"payload": payload})


def decision_in_inbox(channel: Channel, delivery_id: str) -> Any:
    entry = channel.inbox.get(delivery_id)
    assert entry is not None, f"no inbox row {delivery_id}"
    assert entry.status == "queued"  # the redelivery loop's next round applies it
    return parse_decision(entry.content_type, entry.body)


async def test_submit_exchanges_a_token_and_the_answer_goes_to_the_inbox(channel: Channel) -> None:
    channel.register("pas-acme")
    request = pas_request()

    receipt = await channel.pas.submit(request)

    assert (receipt.accepted, receipt.duplicate, receipt.action) == (True, False, "A1")
    decision = decision_in_inbox(channel, f"pas:{request.idempotency_key}")
    assert (decision.action, decision.trace_number) == ("A1", request.trace_number)
    assert decision.service_codes == ("S9480", "0905")
    [logged] = channel.submissions.for_episode(request.episode_id)
    assert (logged.status, logged.channel, logged.response_status) == ("answered", "pas", 200)
    sent = Bundle.model_validate_json(logged.payload or "")
    assert sent.entry[0].resource.identifier[0].value == request.trace_number
    assert json.loads(logged.response or "")["resourceType"] == "Bundle"
    assert channel.app.state.pas.submitted == [request.trace_number]


async def test_a_repeated_submission_is_answered_from_the_log_not_resent(channel: Channel) -> None:
    channel.register("pas-acme")
    request = pas_request()
    await channel.pas.submit(request)

    again = await channel.pas.submit(request)

    assert (again.duplicate, again.action) == (True, "A1")
    assert channel.app.state.pas.submitted == [request.trace_number]
    assert len(channel.submissions.for_episode(request.episode_id)) == 1


async def test_pended_then_inquire_until_the_payer_approves(channel: Channel) -> None:
    channel.register("pas-acme")
    channel.mix({"A4": 1.0})
    request = pas_request()

    pended = await channel.pas.submit(request)
    still = await channel.pas.inquire(request, attempt=1)
    final = await channel.pas.inquire(request, attempt=2)

    assert [pended.action, still.action, final.action] == ["A4", "A4", "A1"]
    first = decision_in_inbox(channel, f"pas:{request.idempotency_key}")
    key = f"{request.episode_id}:{request.trace_number}:inquiry"
    approved = decision_in_inbox(channel, f"pas:{key}:2")
    assert first.reference is not None and first.action == "A4"
    assert (approved.action, approved.trace_number) == ("A1", request.trace_number)
    purposes = [s.purpose for s in channel.submissions.for_episode(request.episode_id)]
    assert purposes == ["initial", "inquiry", "inquiry"]


async def test_inquiring_about_a_request_the_payer_never_pended_is_refused(
    channel: Channel,
) -> None:
    channel.register("pas-acme")
    request = pas_request()
    await channel.pas.submit(request)  # approved outright

    with pytest.raises(InvalidRequest, match=r"404 \(OperationOutcome issues: not-found\)"):
        await channel.pas.inquire(request, attempt=1)
    [_, inquiry] = channel.submissions.for_episode(request.episode_id)
    assert (inquiry.status, inquiry.response_status) == ("failed", 404)
    assert "no pended request" in (inquiry.response or "")  # kept whole in the log only
    with pytest.raises(InvalidRequest, match="404"):  # a retry hears the same refusal
        await channel.pas.inquire(request, attempt=1)


async def test_a_client_key_the_payer_does_not_know_is_refused_and_nothing_sent(
    channel: Channel, tmp_path: Path
) -> None:
    stranger = key_pair(tmp_path, name="stranger")
    channel.register("pas-acme", stranger.private_ref)
    request = pas_request()

    with pytest.raises(InvalidRequest, match="refused client stepdown-test: 401"):
        await channel.pas.submit(request)
    assert channel.app.state.pas.submitted == []
    assert channel.inbox.get(f"pas:{request.idempotency_key}") is None


async def test_a_request_that_cannot_become_a_bundle_is_refused_before_anything_is_stored(
    channel: Channel,
) -> None:
    channel.register("pas-acme")
    request = pas_request()
    broken = request.model_copy(update={"payload": request.payload | {"member_id": ""}})

    with pytest.raises(InvalidRequest, match="member id"):
        await channel.pas.submit(broken)
    assert channel.submissions.for_episode(request.episode_id) == []


def webhook_payer(channel: Channel, payer_id: str) -> None:
    settings = PayerSettings(plan_type="commercial", channel="webhook")
    channel.directory.put(payer_id, settings, datetime.now(UTC))


async def test_the_channel_gateway_dispatches_by_the_directory(channel: Channel) -> None:
    x12 = RecordingOutboundGateway()
    gateway = ChannelGateway(channel.directory, channel.submissions, pas=channel.pas, x12=x12)
    channel.register("pas-acme")
    webhook_payer(channel, "hooked")
    channel.directory.put("clearing", PayerSettings(plan_type="chip", channel="x12"),
                          datetime.now(UTC))  # fmt: skip
    by_pas, by_hook, by_x12 = pas_request(), pas_request("hooked"), pas_request("clearing")

    receipts = [await gateway.submit(r) for r in (by_pas, by_hook, by_x12)]

    assert [r.action for r in receipts] == ["A1", None, None]
    assert x12.submitted == [by_x12]
    logged = {r.payer_id: channel.submissions.for_episode(r.episode_id)[0]
              for r in (by_pas, by_hook, by_x12)}  # fmt: skip
    assert (logged["pas-acme"].channel, logged["pas-acme"].status) == ("pas", "answered")
    assert (logged["hooked"].channel, logged["hooked"].status) == ("webhook", "awaiting_webhook")
    assert logged["hooked"].payload is None  # nothing was sent
    assert (logged["clearing"].channel, logged["clearing"].status) == ("x12", "accepted")
    assert channel.app.state.pas.submitted == [by_pas.trace_number]


async def test_an_unknown_payer_or_a_channel_without_gateway_is_refused(channel: Channel) -> None:
    gateway = ChannelGateway(channel.directory, channel.submissions, pas=channel.pas)
    channel.directory.put("clearing", PayerSettings(plan_type="chip", channel="x12"),
                          datetime.now(UTC))  # fmt: skip
    webhook_payer(channel, "hooked")

    with pytest.raises(InvalidRequest, match="not in the payer directory; register it"):
        await gateway.submit(pas_request("nobody"))
    with pytest.raises(InvalidRequest, match="x12 channel, which this worker has no gateway"):
        await gateway.submit(pas_request("clearing"))
    with pytest.raises(InvalidRequest, match="webhook channel, which has no inquiry"):
        await gateway.inquire(pas_request("hooked"), 1)


async def test_the_simulator_hears_of_a_sim_payers_webhook_submission(channel: Channel) -> None:
    from payers.gateways import HttpSimulatorGateway

    channel.mix({"none": 1.0})
    notice = HttpSimulatorGateway(channel.url)
    gateway = ChannelGateway(channel.directory, channel.submissions, webhook_notice=notice)
    webhook_payer(channel, "sim-hooked")
    request = pas_request("sim-hooked")

    first, again = await gateway.submit(request), await gateway.submit(request)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert list(channel.app.state.simulator.requests) == [request.idempotency_key]
    [logged] = channel.submissions.for_episode(request.episode_id)
    assert logged.status == "awaiting_webhook"
    assert json.loads(logged.payload or "")["trace_number"] == request.trace_number


class RefusingGateway:
    async def submit(self, request: PayerRequest) -> Any:
        raise InvalidRequest("the clearinghouse refused the 278: bad member id")


async def test_a_refused_x12_submission_is_logged_as_failed(channel: Channel) -> None:
    gateway = ChannelGateway(channel.directory, channel.submissions, x12=RefusingGateway())
    channel.directory.put("clearing", PayerSettings(plan_type="chip", channel="x12"),
                          datetime.now(UTC))  # fmt: skip
    request = pas_request("clearing")

    with pytest.raises(InvalidRequest, match="bad member id"):
        await gateway.submit(request)
    [logged] = channel.submissions.for_episode(request.episode_id)
    assert (logged.status, logged.error) == (
        "failed",
        "the clearinghouse refused the 278: bad member id",
    )


async def test_a_request_recorded_on_another_channel_is_not_resent_over_pas(
    channel: Channel,
) -> None:
    gateway = ChannelGateway(channel.directory, channel.submissions, pas=channel.pas)
    webhook_payer(channel, "switched")
    request = pas_request("switched")
    await gateway.submit(request)
    channel.register("switched")  # an admin moves the payer to PAS meanwhile

    with pytest.raises(InvalidRequest, match="already recorded on the webhook channel"):
        await gateway.submit(request)
    assert channel.app.state.pas.submitted == []

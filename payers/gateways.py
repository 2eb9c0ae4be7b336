"""The worker's payer gateway: channels from the payer directory; the dev simulator's notice."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from activities.ports import InvalidRequest, PayerGateway, PayerReceipt, PayerRequest
from payers.channels import ChannelGateway
from payers.formats.pas_request import Provider
from payers.pas_gateway import PasGateway
from settings import Settings
from store.attachments import SqlAttachments
from store.phi import cipher_from_settings
from store.sql import SqlWebhookInbox
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from workflows.codec import build_codec

SIM_PREFIX = "sim-"


class HttpSimulatorGateway:
    """Sends requests of `sim-` payers to the payer simulator; every other payer to `others`
    (none: nothing is sent, the payer answers by its own webhook).

    The simulator answers a repeated idempotency key as a duplicate without acting on it
    again, so an activity retry after a lost response never makes the payer decide twice.
    """

    def __init__(
        self,
        simulator_url: str,
        *,
        others: PayerGateway | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = simulator_url.rstrip("/")
        self._others = others
        self._timeout = timeout
        self._transport = transport

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        if not request.payer_id.startswith(SIM_PREFIX):
            if self._others is None:
                return PayerReceipt(trace_number=request.trace_number, accepted=True)
            return await self._others.submit(request)
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            response = await client.post(
                f"{self._url}/requests", json=request.model_dump(mode="json")
            )
        if response.status_code in (400, 422):
            raise InvalidRequest(f"the simulator refused the request: {response.text[:300]}")
        # Anything else that is not a success (5xx, or no answer at all) is raised as is,
        # so the activity retries: the simulator may be restarting.
        response.raise_for_status()
        body = response.json()
        return PayerReceipt(
            trace_number=request.trace_number,
            accepted=bool(body["accepted"]),
            duplicate=bool(body["duplicate"]),
        )


def provider(settings: Settings) -> Provider | None:
    if not (settings.provider_name and settings.provider_npi):
        return None
    return Provider(
        settings.provider_name,
        settings.provider_npi,
        settings.rendering_name,
        settings.rendering_npi,
    )


def payer_gateway(
    settings: Settings, engine: Engine, *, x12: PayerGateway | None = None
) -> ChannelGateway:
    """The worker's gateway: each payer's channel from the directory at DATABASE_URL.

    `pas` payers get Da Vinci PAS (their synchronous answers go into the webhook inbox);
    `x12` payers the X12 gateway given; `webhook` payers nothing, except that in dev mode the
    simulator hears of the `sim-` payers' requests and answers them through the webhook.
    """
    directory = SqlPayerDirectory(engine)
    cipher = cipher_from_settings(settings)
    submissions = SqlSubmissionLog(engine, cipher)
    # Attachments that go with a request are sealed with the payload keyring (none: none go).
    codec = build_codec(settings) if cipher is not None else None
    attachments = SqlAttachments(engine, codec) if codec is not None else None
    # Synchronous PAS answers go into the inbox sealed, like webhook bodies (store/phi.py).
    inbox = SqlWebhookInbox(engine, cipher)
    pas = PasGateway(directory, submissions, inbox, provider(settings), attachments=attachments)
    notice = HttpSimulatorGateway(settings.simulator.base_url()) if settings.dev_mode else None
    return ChannelGateway(directory, submissions, pas=pas, x12=x12, webhook_notice=notice)

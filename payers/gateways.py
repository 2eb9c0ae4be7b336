"""Outbound payer gateways: the dev payer simulator over HTTP, and a recorder for real payers."""

from __future__ import annotations

import threading

import httpx

from activities.ports import InvalidRequest, PayerGateway, PayerReceipt, PayerRequest
from settings import Settings

SIM_PREFIX = "sim-"


class RecordingOutboundGateway:
    """Keeps each submission once per idempotency key and accepts it.

    Stands in for a payer connection that has no synchronous answer: the payer decides
    later and calls the signed webhook, as real payers do in production.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._submitted: dict[str, PayerRequest] = {}

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        with self._lock:
            duplicate = request.idempotency_key in self._submitted
            self._submitted.setdefault(request.idempotency_key, request)
        return PayerReceipt(trace_number=request.trace_number, accepted=True, duplicate=duplicate)

    @property
    def submitted(self) -> list[PayerRequest]:
        with self._lock:
            return list(self._submitted.values())


class HttpSimulatorGateway:
    """Sends requests of `sim-` payers to the payer simulator; every other payer to `others`.

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
        self._others: PayerGateway = others or RecordingOutboundGateway()
        self._timeout = timeout
        self._transport = transport

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        if not request.payer_id.startswith(SIM_PREFIX):
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


def payer_gateway(settings: Settings) -> PayerGateway:
    """The worker's gateway: the simulator in dev mode, else the recorder for webhook payers."""
    if settings.dev_mode:
        return HttpSimulatorGateway(settings.simulator_base_url())
    return RecordingOutboundGateway()

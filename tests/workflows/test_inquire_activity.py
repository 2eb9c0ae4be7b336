"""The inquire_payer activity: a gateway that cannot inquire, or a refusal, is not retried."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.episode import PAYER_REJECTED, EpisodeActivities, PendedInquiry
from activities.ports import InvalidRequest, PayerReceipt, PayerRequest
from tests.support.fakes import FakePorts


class Inquiring:
    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[tuple[PayerRequest, int]] = []
        self.refuse = refuse

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        raise AssertionError("not submitted")

    async def inquire(self, request: PayerRequest, attempt: int) -> PayerReceipt:
        if self.refuse:
            raise InvalidRequest("payer acme is on the webhook channel, which has no inquiry")
        self.asked.append((request, attempt))
        return PayerReceipt(trace_number=request.trace_number, accepted=True, action="A4")


def activities(gateway: object) -> EpisodeActivities:
    ports = FakePorts()
    return EpisodeActivities(gateway, ports.read_model, ports.notifier, ports.outbox)  # type: ignore[arg-type]


INQUIRY = PendedInquiry(episode_id="ep-1", payer_id="acme", trace_number="SD-ep-1-1", attempt=2,
                        payload={"member_id": "M1"})  # fmt: skip


async def test_the_inquiry_reaches_the_gateway_as_the_pended_request() -> None:
    gateway = Inquiring()

    receipt = await activities(gateway).inquire_payer(INQUIRY)

    [(request, attempt)] = gateway.asked
    assert (receipt.action, attempt) == ("A4", 2)
    assert request.idempotency_key == "ep-1:SD-ep-1-1:initial"
    assert request.payload == {"member_id": "M1"}


@pytest.mark.parametrize("gateway", [FakePorts().payer_gateway, Inquiring(refuse=True)])
async def test_no_inquiry_possible_is_a_non_retryable_failure(gateway: object) -> None:
    with pytest.raises(ApplicationError) as failure:
        await activities(gateway).inquire_payer(INQUIRY)

    assert failure.value.type == PAYER_REJECTED and failure.value.non_retryable

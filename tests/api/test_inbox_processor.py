"""The inbox step on its own (api/inbox.py DeliveryProcessor.receive), over the real SQL inbox
and read model: a repeated delivery whose first answer is stored hears that answer and is not
parsed, matched or applied again. In the full stack the workflow's update-id dedupe hides a
second apply, so this is where the step itself is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from api.deps import ApiDeps
from api.episode_calls import EpisodeCalls
from api.inbox import Answer, DeliveryProcessor, SignedDelivery
from api.redelivery import Redelivery
from domain.errors import Rejected
from store.ports import AuditEntry
from store.sql import SqlAuditLog, SqlReadModel
from store.sql_inbox import SqlWebhookInbox
from tests.support.db import database_engine, database_url
from tests.support.intake import new_id
from tests.support.webhooks import decision_body

__all__ = ["database_engine", "database_url"]
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAYER = "acme-medicaid"


class CountingGateway:
    """The episode side of the inbox: counts the decisions it is asked to apply and answers
    each with the next of `answers` (a status, or a Rejected to raise)."""

    def __init__(self, *answers: str | Rejected) -> None:
        self.answers = list(answers)
        self.applied: list[tuple[str, str | None]] = []

    async def update(self, episode_id: str, update: Any, arg: Any, *, update_id: str | None = None):
        self.applied.append((episode_id, update_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Rejected):
            raise answer
        # A DecisionResult's shape: the status and the episode's view after it.
        view = SimpleNamespace(state="authorized", version=len(self.applied), authorization=None)
        return SimpleNamespace(status=answer, view=view)


def deps_over(engine: Engine) -> ApiDeps:
    """The inbox's side of the API's dependencies: the SQL inbox and read model, a clock."""
    return ApiDeps(
        episodes=cast(Any, None),
        read_model=SqlReadModel(engine),
        inbox=SqlWebhookInbox(engine),
        audit_log=cast(Any, None),
        temporal_health=cast(Any, None),
        database_health=cast(Any, None),
        clock=lambda: AT,
    )


def processor(engine: Engine, gateway: CountingGateway) -> DeliveryProcessor:
    return DeliveryProcessor(deps_over(engine), cast(EpisodeCalls, gateway))


@dataclass(frozen=True)
class Routed:
    """An episode id and the trace number the read model routes to it."""

    episode_id: str
    trace: str


@pytest.fixture
def routed(database_engine: Engine) -> Routed:
    episode_id, trace = new_id(), f"T-{new_id()}"
    SqlReadModel(database_engine).record_trace(trace, episode_id, PAYER, AT)
    return Routed(episode_id, trace)


def delivery(trace: str, action: str = "A1") -> SignedDelivery:
    body, content_type = decision_body(trace, action)
    return SignedDelivery(PAYER, new_id("d"), content_type, {}, body)


async def test_a_repeat_of_an_applied_delivery_hears_the_stored_answer_and_is_not_applied(
    database_engine: Engine, routed: Routed
) -> None:
    gateway = CountingGateway("applied", "applied")
    first_delivery = delivery(routed.trace)

    first = await processor(database_engine, gateway).receive(first_delivery)
    again = await processor(database_engine, gateway).receive(first_delivery)

    assert (first.status_code, first.body["status"], first.outcome) == (202, "applied", "applied")
    assert again.status_code == 202
    assert again.body == {**first.body, "status": "duplicate"}
    assert gateway.applied == [(routed.episode_id, first_delivery.delivery_id)]


async def test_a_repeat_of_a_refused_delivery_hears_the_refusal_though_it_would_apply_now(
    database_engine: Engine, routed: Routed
) -> None:
    refusal = Rejected("invalid_state", "no request is waiting for a payer decision")
    gateway = CountingGateway(refusal, "applied")
    first_delivery = delivery(routed.trace)

    first = await processor(database_engine, gateway).receive(first_delivery)
    again = await processor(database_engine, gateway).receive(first_delivery)

    assert (first.status_code, first.outcome) == (409, "rejected")
    assert (again.status_code, again.body, again.outcome) == (409, first.body, "duplicate")
    assert gateway.applied == [(routed.episode_id, first_delivery.delivery_id)]
    stored = SqlWebhookInbox(database_engine).get(first_delivery.delivery_id, PAYER)
    assert stored is not None and stored.status == "rejected"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_redelivery_leaves_a_delivery_still_being_answered_for_its_grace_period(
    database_engine: Engine,
) -> None:
    """A `received` row younger than the grace period belongs to the request answering it
    (api/redelivery.py); after the grace period the loop takes it over."""
    clock = Clock(AT)
    deps = deps_over(database_engine)
    deps.clock = clock
    body, content_type = decision_body(f"T-{new_id()}", "A1")  # a trace no episode sent
    delivery_id = new_id("d")
    deps.inbox.receive(delivery_id, PAYER, content_type, {}, body, AT)
    loop = Redelivery(deps, timeout=1.0, grace=timedelta(seconds=30))

    clock.now = AT + timedelta(seconds=29)
    assert await loop.run_once() == 0
    left = deps.inbox.get(delivery_id, PAYER)
    assert left is not None and (left.status, left.response) == ("received", None)

    clock.now = AT + timedelta(seconds=31)
    assert await loop.run_once() == 1
    taken = deps.inbox.get(delivery_id, PAYER)
    assert taken is not None and taken.status == "unmatched"


async def test_a_delivery_settled_later_is_answered_first_and_marked_with_its_audit_entry(
    database_engine: Engine, routed: Routed
) -> None:
    episode_id = routed.episode_id
    gateway = CountingGateway("applied", "applied")
    first_delivery = delivery(routed.trace)
    audit = SqlAuditLog(database_engine)

    def audit_of(answer: Answer) -> AuditEntry:
        return AuditEntry(
            actor=f"payer:{PAYER}",
            role="payer",
            action="webhook.payer",
            route="POST /webhooks/payers/{payer_id}",
            episode_id=answer.episode_id,
            outcome=answer.outcome,
            status_code=answer.status_code,
            request_id=first_delivery.delivery_id,
            at=AT,
        )

    deferred = DeliveryProcessor(
        deps_over(database_engine), cast(EpisodeCalls, gateway), audit_of, settle_later=True
    )
    answer = await deferred.receive(first_delivery)
    inbox = SqlWebhookInbox(database_engine)
    pending = inbox.get(first_delivery.delivery_id, PAYER)
    # Answered, not yet settled: kept as received, so the redelivery loop would retry it.
    assert (answer.status_code, answer.outcome) == (202, "applied")
    assert pending is not None and (pending.status, pending.response) == ("received", None)
    assert not deferred.audited and audit.entries(episode_id) == []

    await deferred.settle()
    await deferred.settle()  # once only

    settled = inbox.get(first_delivery.delivery_id, PAYER)
    assert settled is not None and settled.status == "applied"
    assert settled.response == answer.stored()
    assert deferred.audited
    assert [(e.outcome, e.status_code) for e in audit.entries(episode_id)] == [("applied", 202)]
    assert gateway.applied == [(episode_id, first_delivery.delivery_id)]

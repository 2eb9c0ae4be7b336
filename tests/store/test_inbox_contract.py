"""The webhook-inbox contract, run on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from store.ports import AuditEntry, InboxEntry, UnknownDelivery, WebhookInbox
from tests.store.conftest import Stores
from tests.support.store_factories import T0, new_id

HEADERS = {"stepdown-signature": "t=1,v1=ab", "content-type": "application/edi-x12"}
# Not UTF-8: the inbox keeps the raw bytes the signature was computed over.
BODY = b"ISA*00*\x00\xff~TRN*2*SD-1~"


def receive(inbox: WebhookInbox, delivery_id: str, **overrides: object) -> tuple[InboxEntry, bool]:
    values: dict[str, object] = {
        "payer_id": "acme-medicaid",
        "content_type": "application/edi-x12",
        "headers": HEADERS,
        "body": BODY,
        "received_at": T0,
    } | overrides
    return inbox.receive(delivery_id, **values)  # type: ignore[arg-type]


def test_received_delivery_keeps_body_headers_and_time(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")

    entry, inserted = receive(inbox, delivery)

    assert inserted
    assert (entry.body, entry.headers, entry.received_at) == (BODY, HEADERS, T0)
    assert (entry.status, entry.attempts, entry.response, entry.episode_id) == (
        "received",
        0,
        None,
        None,
    )
    assert inbox.get(delivery) == entry


def test_second_receive_of_a_delivery_returns_the_first_entry(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery)
    answered = inbox.mark(delivery, "applied", episode_id="ep-1", response={"status": "applied"})

    again, inserted = receive(inbox, delivery, body=b"{}", received_at=T0 + timedelta(minutes=5))

    assert not inserted
    assert again == answered
    assert again.body == BODY and again.response == {"status": "applied"}


def test_concurrent_receives_of_one_delivery_insert_it_once(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    start = threading.Barrier(6)

    def racer(n: int) -> bool:
        start.wait()
        return receive(inbox, delivery, body=bytes([n]))[1]

    with ThreadPoolExecutor(6) as pool:
        inserted = list(pool.map(racer, range(6)))

    assert inserted.count(True) == 1
    stored = inbox.get(delivery)
    assert stored is not None and stored.body == bytes([inserted.index(True)])


def test_queued_marks_count_attempts_and_keep_the_last_error(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery)

    inbox.mark(delivery, "queued", error="temporal unreachable", response={"status": "queued"})
    inbox.mark(delivery, "queued", error="deadline exceeded")
    applied = inbox.mark(delivery, "applied", episode_id="ep-7")

    assert (applied.status, applied.attempts, applied.episode_id) == ("applied", 2, "ep-7")
    assert applied.last_error == "deadline exceeded"
    assert applied.updated_at >= T0


def test_only_the_first_response_is_kept(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery)

    inbox.mark(delivery, "queued", response={"status": "queued", "episode_id": "ep-1"})
    later = inbox.mark(delivery, "applied", response={"status": "applied"})

    assert later.response == {"status": "queued", "episode_id": "ep-1"}


def test_due_for_redelivery_is_pending_oldest_first(inbox: WebhookInbox) -> None:
    ids = {status: new_id("dlv") for status in ("received", "queued", "applied", "unmatched")}
    ages = {"received": 1, "queued": 3, "applied": 5, "unmatched": 4}
    for status, delivery in ids.items():
        receive(inbox, delivery, received_at=T0 - timedelta(minutes=ages[status]))
        if status != "received":
            inbox.mark(delivery, status)  # type: ignore[arg-type]

    due = inbox.due_for_redelivery(limit=10)

    assert [e.delivery_id for e in due] == [ids["queued"], ids["received"]]
    assert [e.delivery_id for e in inbox.due_for_redelivery(limit=1)] == [ids["queued"]]


@pytest.mark.parametrize("status", ["duplicate", "rejected"])
def test_settled_deliveries_are_not_redelivered(inbox: WebhookInbox, status: str) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery)

    inbox.mark(delivery, status, error="unparseable body")  # type: ignore[arg-type]

    assert inbox.due_for_redelivery() == []


def test_marking_an_unknown_delivery_fails(inbox: WebhookInbox) -> None:
    with pytest.raises(UnknownDelivery):
        inbox.mark(new_id("dlv"), "applied")
    assert inbox.get(new_id("dlv")) is None


def payer_audit(episode_id: str, request_id: str) -> AuditEntry:
    return AuditEntry(
        actor="payer:acme-medicaid",
        role="payer",
        action="webhook.payer",
        route="POST /webhooks/payers/{payer_id}",
        episode_id=episode_id,
        outcome="applied",
        status_code=202,
        request_id=request_id,
        at=T0,
    )


def test_a_mark_with_its_audit_entry_keeps_both(stores: Stores) -> None:
    delivery, episode = new_id("dlv"), new_id("ep")
    receive(stores.inbox, delivery)

    marked = stores.inbox.mark(
        delivery, "applied", episode_id=episode, audit=payer_audit(episode, delivery)
    )

    assert marked.status == "applied"
    assert stores.audit_log.entries(episode) == [payer_audit(episode, delivery)]


def test_a_mark_of_an_unknown_delivery_writes_no_audit_entry(stores: Stores) -> None:
    episode = new_id("ep")

    with pytest.raises(UnknownDelivery):
        stores.inbox.mark(new_id("dlv"), "applied", audit=payer_audit(episode, "r-1"))

    assert stores.audit_log.entries(episode) == []

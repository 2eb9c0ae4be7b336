"""Deliveries that are never lost or replayed: per-payer ids, seen signatures, trace routes.

Run on the in-memory fake, SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from store.ports import ReadModel, WebhookInbox
from tests.store.conftest import Stores
from tests.store.test_trace_lookup_contract import requested
from tests.support.store_factories import T0, new_id, summary


def receive(inbox: WebhookInbox, delivery_id: str, payer_id: str, body: bytes = b"{}") -> None:
    inbox.receive(delivery_id, payer_id, "application/json", {}, body, T0)


def test_delivery_ids_are_unique_per_payer_not_across_payers(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery, "payer-a", b'{"a": 1}')

    entry, fresh = inbox.receive(delivery, "payer-b", "application/json", {}, b'{"b": 2}', T0)
    again, repeated = inbox.receive(delivery, "payer-a", "application/json", {}, b"{}", T0)

    assert fresh and entry.payer_id == "payer-b" and entry.body == b'{"b": 2}'
    assert not repeated and again.body == b'{"a": 1}'
    inbox.mark(delivery, "applied", payer_id="payer-b", episode_id="ep-b")
    a, b = inbox.get(delivery, "payer-a"), inbox.get(delivery, "payer-b")
    assert a is not None and b is not None
    assert (a.status, b.status, b.episode_id) == ("received", "applied", "ep-b")


def test_a_signed_receive_stores_the_row_only_for_the_first_carrier_of_its_signature(
    inbox: WebhookInbox,
) -> None:
    first, replay, signature = new_id("dlv"), new_id("dlv"), new_id("sig")

    entry, fresh, first_id = inbox.receive_signed(
        first, "payer-a", "application/json", {}, b"{}", T0, signature
    )
    again, fresh_again, first_again = inbox.receive_signed(
        first, "payer-a", "application/json", {}, b"{}", T0, signature
    )
    none, stored, named = inbox.receive_signed(
        replay, "payer-a", "application/json", {}, b"{}", T0, signature
    )

    assert entry is not None and fresh and first_id == first
    assert again == entry and not fresh_again and first_again == first
    assert (none, stored, named) == (None, False, first)
    assert inbox.get(replay, "payer-a") is None
    assert inbox.remember_signature("payer-a", signature, new_id("dlv"), T0) == first


def test_a_signature_seen_before_names_the_delivery_that_first_carried_it(
    inbox: WebhookInbox,
) -> None:
    first, second = new_id("dlv"), new_id("dlv")

    assert inbox.remember_signature("payer-a", "f" * 64, first, T0) == first
    assert inbox.remember_signature("payer-a", "f" * 64, second, T0) == first
    # Another payer's identical value is its own (payers never share secrets).
    assert inbox.remember_signature("payer-b", "f" * 64, second, T0) == second


def test_signatures_older_than_the_window_are_forgotten(inbox: WebhookInbox) -> None:
    old, recent = new_id("sig"), new_id("sig")
    inbox.remember_signature("payer-a", old, "d-old", T0 - timedelta(hours=1))
    inbox.remember_signature("payer-a", recent, "d-new", T0)

    forgotten = inbox.forget_signatures(T0 - timedelta(minutes=10))

    assert forgotten == 1
    assert inbox.remember_signature("payer-a", old, "d-again", T0) == "d-again"
    assert inbox.remember_signature("payer-a", recent, "d-again", T0) == "d-new"


def test_an_unmatched_answer_can_be_replaced_once_re_evaluated(inbox: WebhookInbox) -> None:
    delivery = new_id("dlv")
    receive(inbox, delivery, "payer-a")
    inbox.mark(delivery, "unmatched", response={"status_code": 404}, trace_number="SD-1")

    later = inbox.mark(
        delivery, "applied", response={"status_code": 202}, replace_response=True, episode_id="e"
    )

    assert (later.status, later.response, later.trace_number) == (
        "applied",
        {"status_code": 202},
        "SD-1",
    )


def test_a_route_recorded_at_intake_finds_the_episode_before_any_projection(
    read_model: ReadModel,
) -> None:
    episode, trace = new_id(), new_id("SD")

    read_model.record_trace(trace, episode, "payer-a", T0)

    route = read_model.trace_route(trace)
    assert route is not None and (route.episode_id, route.payer_id) == (episode, "payer-a")
    assert read_model.trace_route(new_id("SD")) is None


def test_routes_survive_a_rebuild_and_the_projection_corrects_them(read_model: ReadModel) -> None:
    trace = new_id("SD")
    episode = summary(trace_number=trace, payer_id="payer-b", version=1)
    read_model.record_trace(trace, episode.episode_id, "payer-a", T0)

    read_model.apply(episode, [requested(1, trace)], [])
    read_model.delete_episode(episode.episode_id)

    route = read_model.trace_route(trace)
    # The events are the record and outlive the derived rows: the match survives as well.
    assert read_model.episode_for_trace(trace) == episode.episode_id
    assert route is not None and (route.episode_id, route.payer_id) == (
        episode.episode_id,
        "payer-b",
    )


def test_unmatched_deliveries_become_recoverable_once_their_route_appears(
    stores: Stores,
) -> None:
    trace, other_payer_trace = new_id("SD"), new_id("SD")
    waiting, foreign = new_id("dlv"), new_id("dlv")
    receive(stores.inbox, waiting, "payer-a")
    receive(stores.inbox, foreign, "payer-z")
    stores.inbox.mark(waiting, "unmatched", payer_id="payer-a", trace_number=trace)
    stores.inbox.mark(foreign, "unmatched", payer_id="payer-z", trace_number=other_payer_trace)
    before = stores.read_model.recoverable_deliveries()

    stores.read_model.record_trace(trace, new_id(), "payer-a", T0)
    stores.read_model.record_trace(other_payer_trace, new_id(), "payer-a", T0)

    assert before == []
    # payer-z named payer-a's trace: never recovered onto another payer's episode.
    found = stores.read_model.recoverable_deliveries()
    assert [e.delivery_id for e in found] == [waiting]


def test_a_signature_is_claimed_only_from_the_delivery_that_holds_it(inbox: WebhookInbox) -> None:
    signature = new_id("sig")
    inbox.remember_signature("payer-a", signature, "lost", T0)

    stolen = inbox.claim_signature("payer-a", signature, "someone-else", "thief")
    claimed = inbox.claim_signature("payer-a", signature, "lost", "retry")
    again = inbox.claim_signature("payer-a", signature, "lost", "late")

    assert (stolen, claimed, again) == (False, True, False)
    assert inbox.remember_signature("payer-a", signature, "next", T0) == "retry"

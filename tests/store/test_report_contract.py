"""The events the report reads, on every store: whole episodes touched in the period."""

from __future__ import annotations

from datetime import timedelta

from domain.views import StoredEvent
from store.ports import ReadModel
from tests.support.store_factories import T0, new_id, summary


def event(seq: int, type_: str, days: int) -> StoredEvent:
    return StoredEvent(seq=seq, type=type_, at=T0 + timedelta(days=days), data={"n": seq})


def test_an_episode_touched_in_the_period_comes_whole_with_its_payer(
    read_model: ReadModel,
) -> None:
    touched, quiet = new_id(), new_id()
    read_model.apply(
        summary(touched, payer_id="p-1", plan_type="commercial"),
        [
            event(1, "authorization_requested", 0),
            event(2, "noted", 1),
            event(3, "claim_held", 10),
            event(4, "authorization_granted", 40),
        ],
        [],
    )
    read_model.apply(summary(quiet), [event(1, "authorization_requested", 0)], [])
    types = {"authorization_requested", "claim_held", "authorization_granted"}

    found = read_model.payer_events(T0 + timedelta(days=5), T0 + timedelta(days=20), types)

    assert [(f.episode_id, f.payer_id, f.plan_type) for f in found] == [
        (touched, "p-1", "commercial")
    ] * 3
    assert [f.event.seq for f in found] == [1, 3, 4]  # earlier and later ones too
    assert found[0].event.data == {"n": 1}
    assert read_model.payer_events(T0 + timedelta(days=50), T0 + timedelta(days=60), types) == []

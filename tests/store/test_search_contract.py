"""Finding episodes by patient name, member id, authorization or trace number, on every store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain.views import StoredEvent
from store.ports import ReadModel
from tests.support.store_factories import T0, new_id, summary


def opened(seq: int, name: str, member_id: str) -> StoredEvent:
    patient = {"id": "p", "name": name, "birth_date": "1980-01-01", "member_id": member_id}
    return StoredEvent(seq=seq, type="episode_opened", at=T0, data={"patient": patient})


def event(seq: int, type_: str, **data: Any) -> StoredEvent:
    return StoredEvent(seq=seq, type=type_, at=T0, data=data)


def found(read_model: ReadModel, q: str, **filters: Any) -> set[str]:
    page, _ = read_model.list_episodes(q=q, limit=200, **filters)
    return {s.episode_id for s in page}


@dataclass(frozen=True)
class TwoDanas:
    """Two episodes whose patients are both called Dana, at different payers.

    `dana` (Dana María Ortíz-Lopez) is found by member id, authorization and trace number
    too; `other` (Dana Smith) is of the payer "other".
    """

    dana: str
    other: str


@pytest.fixture
def two(read_model: ReadModel) -> TwoDanas:
    dana, other = new_id(), new_id()
    member = new_id("M")
    read_model.apply(
        summary(dana),
        [
            opened(1, "Dana María Ortíz-Lopez", member),
            event(2, "authorization_requested", trace_number=f"SD-{dana}-1"),
            event(3, "authorization_granted", authorization={"number": f"AUTH-{dana}"}),
        ],
        [],
    )
    read_model.apply(summary(other, payer_id="other"), [opened(1, "Dana Smith", "X1")], [])
    return TwoDanas(dana, other)


def test_a_search_finds_by_every_kind_of_key(read_model: ReadModel, two: TwoDanas) -> None:
    member = read_model.events(two.dana)[0].data["patient"]["member_id"]

    assert found(read_model, "ortiz") == {two.dana}  # accents and case ignored
    assert found(read_model, "LOPEZ maria") == {two.dana}  # every word, any order
    assert found(read_model, "Ortíz-Lopez") == {two.dana}
    assert found(read_model, member.lower()) == {two.dana}
    assert found(read_model, f"auth-{two.dana}") == {two.dana}
    assert found(read_model, f"SD-{two.dana}-1") == {two.dana}
    assert {two.dana, two.other} <= found(read_model, "dana")


def test_a_search_matches_whole_words_and_needs_every_one(
    read_model: ReadModel, two: TwoDanas
) -> None:

    assert two.dana not in found(read_model, "ort")
    assert found(read_model, "dana smith") == {two.other}
    assert found(read_model, "dana nobody") == set()
    assert found(read_model, "  ,;  ") == set()  # no words: nothing, not everything


def test_a_search_combines_with_the_filters(read_model: ReadModel, two: TwoDanas) -> None:

    assert found(read_model, "dana", payer_id="other") == {two.other}
    assert two.dana in found(read_model, "dana", state="auth_requested")


def test_repeated_batches_and_a_rebuild_keep_the_keys_right(
    read_model: ReadModel, two: TwoDanas
) -> None:
    read_model.apply(summary(two.dana, version=2), read_model.events(two.dana), [])

    assert found(read_model, "ortiz") == {two.dana}
    read_model.delete_episode(two.dana)
    assert found(read_model, "ortiz") == set()


def test_lists_name_the_patient_from_the_opened_event(read_model: ReadModel, two: TwoDanas) -> None:

    labels = read_model.patients([two.dana, two.other, new_id()])

    assert labels[two.dana].name == "Dana María Ortíz-Lopez"
    assert labels[two.other].member_id == "X1"
    assert set(labels) == {two.dana, two.other}
    assert read_model.patients([]) == {}

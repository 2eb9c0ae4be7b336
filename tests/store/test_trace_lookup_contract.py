"""The read model finds an episode by a payer's trace number, on every backend."""

from __future__ import annotations

from domain.views import StoredEvent
from store.ports import ReadModel
from tests.support.store_factories import T0, new_id, summary


def requested(seq: int, trace_number: str) -> StoredEvent:
    return StoredEvent(
        seq=seq,
        type="authorization_requested",
        at=T0,
        data={"trace_number": trace_number, "purpose": "initial", "units": 20},
    )


def test_the_latest_requests_trace_number_finds_its_episode(read_model: ReadModel) -> None:
    episode = summary()
    read_model.apply(episode, [], [])

    assert episode.trace_number is not None
    assert read_model.episode_for_trace(episode.trace_number) == episode.episode_id


def test_an_earlier_requests_trace_number_is_found_in_its_event(read_model: ReadModel) -> None:
    first, second = new_id("SD"), new_id("SD")
    episode = summary(trace_number=second, version=2)
    read_model.apply(episode, [requested(1, first), requested(2, second)], [])

    assert read_model.episode_for_trace(first) == episode.episode_id
    assert read_model.episode_for_trace(second) == episode.episode_id


def test_a_trace_number_in_another_event_type_finds_nothing(read_model: ReadModel) -> None:
    stray = new_id("SD")
    notice = StoredEvent(seq=1, type="payer_notice", at=T0, data={"trace_number": stray})
    read_model.apply(summary(), [notice], [])

    assert read_model.episode_for_trace(stray) is None


def test_an_unknown_trace_number_finds_nothing(read_model: ReadModel) -> None:
    read_model.apply(summary(), [requested(1, new_id("SD"))], [])

    assert read_model.episode_for_trace(new_id("SD")) is None


def test_an_episode_without_a_request_is_not_found_by_an_empty_trace(
    read_model: ReadModel,
) -> None:
    read_model.apply(summary(trace_number=None), [], [])

    assert read_model.episode_for_trace("") is None

"""Domain events back from their stored form, and the state their fold gives."""

from __future__ import annotations

from collections.abc import Iterable

from domain.events import EVENT_ADAPTER, Event
from domain.evolve import fold
from domain.state import Episode
from domain.views import StoredEvent


def event_of(stored: StoredEvent) -> Event:
    """The domain event a stored one was written from (its data is the event without
    `type` and `at`, dumped as JSON); raises pydantic's ValidationError when it is not one."""
    return EVENT_ADAPTER.validate_python({**stored.data, "type": stored.type, "at": stored.at})


def replay(stored: Iterable[StoredEvent]) -> Episode:
    """The episode state the stored events fold into, in the order given."""
    return fold(event_of(event) for event in stored)

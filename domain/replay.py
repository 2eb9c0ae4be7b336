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


def same_facts(stored: StoredEvent, other: StoredEvent) -> bool:
    """Whether two stored forms are one event: equal as written, or equal once both are read
    in this release's shape (an event written by an earlier release and the same event as a
    replayed workflow writes it today differ in `schema_version` and field names only)."""
    if stored.model_dump(mode="json") == other.model_dump(mode="json"):
        return True
    if (stored.seq, stored.type, stored.at) != (other.seq, other.type, other.at):
        return False
    try:
        return event_of(stored) == event_of(other)
    except ValueError:  # pydantic's ValidationError: not an event of this release
        return False

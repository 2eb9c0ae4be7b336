"""Real episode histories for the event store's tests: commands decided by the domain."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain import commands as c
from domain.decider import decide, evolve
from domain.state import Episode
from domain.views import StoredEvent
from tests.support.commands import dated_command


def stored(state: Episode, event: Any) -> StoredEvent:
    """The event as the workflow stores it (workflows/episode.py, _apply)."""
    data = event.model_dump(mode="json", exclude={"type", "at"})
    return StoredEvent(seq=state.version, type=event.type, at=event.at, data=data)


def history(start: datetime, *commands: Any, **opened: Any) -> tuple[Episode, list[StoredEvent]]:
    """Opens an episode at `start` and decides `commands` an hour apart."""
    state, events = Episode(), []
    steps = [dated_command(start.date(), **opened), *commands]
    for hours, command in enumerate(steps):
        for event in decide(state, command, start + timedelta(hours=hours)):
            state = evolve(state, event)
            events.append(stored(state, event))
    return state, events


def cancelled(start: datetime, **opened: Any) -> tuple[Episode, list[StoredEvent]]:
    return history(start, c.Cancel(reason="patient moved out of state"), **opened)

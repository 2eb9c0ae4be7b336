"""A small driver for decider tests: commands in, events folded, the clock moved by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain.decider import decide, fold
from domain.events import Event
from domain.model import PayerDecision, Service
from domain.state import Episode
from tests.support import domain_factories
from tests.support.commands import open_command

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def service(day: date, **overrides: Any) -> Service:
    """A group-therapy hour on `day` (domain_factories.service with its date)."""
    return domain_factories.service(date=day, **overrides)


class Scenario:
    """Holds one episode's state and a clock; every step checks fold(events) == state."""

    def __init__(self, **open_overrides: Any) -> None:
        self.now = T0
        self.events: list[Event] = []
        self.state = Episode()
        self.command = open_command(**open_overrides)
        self.run(self.command)

    @property
    def trace(self) -> str:
        return self.state.trace_numbers[-1]

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def run(self, command: Any) -> list[Event]:
        new = decide(self.state, command, self.now)
        self.events.extend(new)
        self.state = fold(new, self.state)
        return new

    def decision(self, action: str, delivery_id: str | None = None, **fields: Any) -> list[Event]:
        body = {"trace_number": self.trace, "action": action, **fields}
        cmd = c.ApplyPayerDecision(
            delivery_id=delivery_id or uuid.uuid4().hex, decision=PayerDecision.model_validate(body)
        )
        return self.run(cmd)

    def approve(self, **fields: Any) -> list[Event]:
        values = {
            "authorization_number": "AUTH-1",
            "start": date(2026, 11, 23),
            "end": date(2026, 12, 31),
            "units": 20,
        }
        return self.decision("A1", **{**values, **fields})

    def fire(self, kind: str) -> list[Event]:
        due = self.state.deadlines[kind]
        self.now = max(self.now, due)
        return self.run(c.DeadlineReached(kind=kind, due=due))

    def types(self, events: list[Event] | None = None) -> list[str]:
        return [e.type for e in (self.events if events is None else events)]

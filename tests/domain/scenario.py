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
from tests.domain import factories

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def open_command(**overrides: Any) -> c.OpenEpisode:
    body: dict[str, Any] = {
        "episode_id": f"ep-{uuid.uuid4().hex[:12]}",
        "patient": {
            "id": "P-100",
            "name": "Jane Roe",
            "birth_date": "1990-04-01",
            "member_id": "MCD123456",
        },
        "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
        "asam_edition": 3,
        "from_level": "2.5",
        "to_level": "2.1",
        "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
        "setting": "cmhc",
        "prior_authorization": {
            "number": "PHP-998",
            "level": "2.5",
            "start": "2026-11-02",
            "end": "2026-11-10",
        },
        "requested": {
            "start": "2026-11-23",
            "units": 20,
            "unit_type": "days",
            "service_codes": ["S9480", "90853", "0905"],
        },
        "urgency": "standard",
        "diagnoses": ["F33.1"],
        "php_last_claim_through": "2026-11-10",
    }
    body.update(overrides)
    return c.OpenEpisode.model_validate(body)


def service(day: date, **overrides: Any) -> Service:
    """A group-therapy hour on `day` (factories.service with its date)."""
    return factories.service(date=day, **overrides)


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

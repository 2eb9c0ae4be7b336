"""Events keep the shape they were written in; this release reads every earlier shape by
upcasting it (domain/events.py), tested on events recorded by an earlier release."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain import events as ev
from domain.replay import event_of, replay
from domain.views import StoredEvent
from tests.support.scenario import Scenario, service

# Written by the release before EVENT_SCHEMA 2 (no schema_version, episode_opened's
# `prior_authorization`): an approved episode with one claim released.
RECORDED = Path(__file__).resolve().parents[1] / "recorded_events"


def recorded(name: str) -> list[StoredEvent]:
    return [StoredEvent.model_validate(e) for e in json.loads((RECORDED / name).read_text())]


def test_events_recorded_by_the_earlier_release_fold_into_this_releases_state():
    stored = recorded("r2-approved-and-billed.json")
    assert "prior_authorization" in stored[0].data and "schema_version" not in stored[0].data

    state = replay(stored)

    assert state.opened is not None and state.opened.stepped_down_from is not None
    assert state.opened.stepped_down_from.number == "PHP-998"
    assert state.opened.schema_version == ev.EVENT_SCHEMA
    assert state.status == "authorized" and list(state.claims) == ["C-1"]
    assert {event_of(e).schema_version for e in stored} == {ev.EVENT_SCHEMA}


def test_the_same_episode_decided_now_folds_to_the_same_state_as_the_recorded_one():
    """The upcast old shape and the shape written today are the same facts."""
    scenario = Scenario()
    scenario.approve()
    scenario.advance(days=1)
    scenario.run(c.RecordServices(services=(service(date(2026, 11, 24)),)))
    scenario.run(c.ReleaseClaim(claim_id="C-1", through=date(2026, 11, 24)))
    old = replay(recorded("r2-approved-and-billed.json"))

    # Ids the scenario draws at random differ from the recording's; the rest must agree.
    drawn = {"episode_id", "opened", "delivery_ids", "services", "claims", "trace_numbers"}
    drawn |= {"pending", "authorizations"}

    def comparable(state: Any) -> dict[str, Any]:
        dumped: dict[str, Any] = state.model_dump(exclude=drawn)
        return dumped

    assert comparable(scenario.state) == comparable(old)
    assert scenario.state.opened.stepped_down_from == old.opened.stepped_down_from  # type: ignore[union-attr]


def test_an_event_written_today_carries_the_current_version():
    [opened, *_] = Scenario().events
    data = opened.model_dump(mode="json")
    assert data["schema_version"] == ev.EVENT_SCHEMA
    assert "prior_authorization" not in data and data["stepped_down_from"]["number"]


def test_a_version_this_release_does_not_know_is_refused():
    [opened, *_] = Scenario().events
    data = opened.model_dump(mode="json")
    with pytest.raises(ValidationError, match="schema_version 3"):
        ev.EVENT_ADAPTER.validate_python({**data, "schema_version": 3})
    with pytest.raises(ValidationError, match="schema_version 0"):
        ev.EVENT_ADAPTER.validate_python({**data, "schema_version": 0})


def test_every_upcaster_steps_from_a_known_version_of_a_known_event():
    kinds = {cls.model_fields["type"].default for cls in get_args(get_args(ev.Event)[0])}
    assert ev.UPCASTERS
    for kind, version in ev.UPCASTERS:
        assert 1 <= version < ev.EVENT_SCHEMA
        assert kind in kinds

"""The decider's and evolve's tables cover every command and event; `evolve`'s handlers
return `EpisodeChanges`, which names exactly the fields of `Episode`."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain import events as ev
from domain import evolve as evolve_module
from domain.decide_clock import _RULES as _CLOCK_RULES
from domain.decider import _DECIDERS, decide
from domain.model import DEADLINE_KINDS, DeadlineKind
from domain.state import Episode, EpisodeChanges
from tests.support.commands import open_command

NOW = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def members(union: Any) -> set[type[Any]]:
    """The classes of an `Annotated[A | B | ..., Field(discriminator=...)]` union."""
    inner = get_args(union)[0]
    return set(get_args(inner))


def test_every_command_has_a_decider_and_every_decider_a_command():
    commands = members(c.Command)
    assert len(commands) >= 20
    assert set(_DECIDERS) == commands


def test_every_event_has_an_evolve_handler_and_every_handler_an_event():
    events = members(ev.Event)
    assert len(events) >= 30
    assert set(evolve_module._HANDLERS) == events


def test_episode_changes_names_every_field_of_the_episode_with_its_type():
    changes = typing.get_type_hints(EpisodeChanges)
    episode = {name: field.annotation for name, field in Episode.model_fields.items()}
    del episode["version"]  # evolve counts it; no handler sets it
    assert changes == episode


def test_a_handler_naming_a_field_the_episode_lacks_is_refused(monkeypatch: pytest.MonkeyPatch):
    """model_copy(update=...) would keep a misspelt key silently and the state would not change."""

    def misspelt(state: Episode, event: ev.EpisodeOpened) -> Any:
        return {"episode_id": event.episode_id, "statuss": "referred"}

    opened = next(e for e in decide(Episode(), open_command(), NOW) if e.type == "episode_opened")
    assert evolve_module.evolve(Episode(), opened).episode_id == opened.episode_id
    monkeypatch.setitem(evolve_module._HANDLERS, ev.EpisodeOpened, misspelt)
    with pytest.raises(TypeError, match="statuss"):
        evolve_module.evolve(Episode(), opened)


def test_every_deadline_kind_has_one_clock_rule():
    assert set(_CLOCK_RULES) == DEADLINE_KINDS == set(get_args(DeadlineKind))


def test_setting_a_deadline_of_no_known_kind_is_refused():
    """A misspelt kind would be a timer no clock rule answers: the episode would never move."""
    now = datetime(2026, 11, 12, tzinfo=UTC)
    assert evolve_module._with({}, payer_decision_due=now) == {"payer_decision_due": now}
    with pytest.raises(TypeError, match="payer_decison_due"):
        evolve_module._with({}, payer_decison_due=now)


def test_a_deadline_command_of_no_known_kind_is_invalid():
    with pytest.raises(ValidationError):
        c.DeadlineReached(kind="payer_decison_due", due=NOW)  # type: ignore[arg-type]

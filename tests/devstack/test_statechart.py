"""The state chart comes from the decider, so it names every state and the main paths."""

from __future__ import annotations

from typing import get_args

import pytest

from devstack.statechart import Transition, mermaid, transitions
from domain.model import EpisodeStateName


@pytest.fixture(scope="module")
def steps() -> list[Transition]:
    return transitions()


def test_every_state_of_the_domain_appears_in_the_chart(steps: list[Transition]):
    seen = {s.source for s in steps} | {s.target for s in steps}

    assert seen == set(get_args(EpisodeStateName))


def test_the_main_paths_are_found(steps: list[Transition]):
    pairs = {(s.source, s.target, s.label) for s in steps}

    assert ("referred", "auth_requested", "open") in pairs
    assert ("auth_requested", "authorized", "payer A1") in pairs
    assert ("auth_requested", "denied", "payer A3") in pairs
    assert ("denied", "p2p_requested", "request P2P") in pairs
    assert ("p2p_scheduled", "auth_requested", "P2P overturned") in pairs
    assert ("authorized", "expired", "clock: authorization_ends") in pairs
    assert ("discharged", "closed", "release claim") in pairs


def test_mermaid_joins_parallel_steps_on_one_arrow(steps: list[Transition]):
    text = mermaid(steps)

    assert text.startswith("stateDiagram-v2\n    [*] --> referred\n")
    assert "    auth_requested --> authorized: payer A1, payer A2, payer A6\n" in text
    assert text.count("auth_requested --> authorized") == 1

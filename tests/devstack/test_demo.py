"""The demo data: valid intakes, and a simulator seed that shows every path of the episode."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.episode import idempotency_key
from activities.ports import PayerRequest
from devstack.demo import DEMO_EPISODES, episode_body
from domain.commands import OpenEpisode
from domain.decider import decide
from domain.state import Episode
from domain.timing import trace_number
from payers.simulator import SimulatorConfig, plan
from settings import Settings


def test_every_demo_episode_is_a_valid_intake_today():
    now = datetime.now(UTC)
    for demo in DEMO_EPISODES:
        command = OpenEpisode.model_validate(episode_body(demo, now.date()))
        types = [event.type for event in decide(Episode(), command, now)]
        assert types == ["episode_opened", "authorization_requested"], demo.episode_id


def test_the_default_seed_answers_the_demo_with_every_kind_of_decision():
    config = SimulatorConfig.from_settings(Settings(STEPDOWN_DEV=True))
    answers = []
    for demo in DEMO_EPISODES:
        if not demo.payer_id.startswith("sim-"):
            continue
        trace = trace_number(demo.episode_id, 1)
        request = PayerRequest(
            episode_id=demo.episode_id,
            trace_number=trace,
            purpose="initial",
            payer_id=demo.payer_id,
            idempotency_key=idempotency_key(demo.episode_id, trace, "initial"),
        )
        answers.append(plan(request, config))

    assert {"A1", "A3", "A4", "A6", "none"} <= {a.action for a in answers}
    assert {a.format for a in answers} == {"json", "fhir", "x12"}

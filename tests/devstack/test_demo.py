"""The demo data: valid intakes, and a simulator seed that shows every path of the episode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

from activities.episode import idempotency_key
from activities.ports import PayerRequest
from devstack.demo import (
    BILLED_DEMOS,
    DEMO_EPISODES,
    DemoEpisode,
    demo_claim,
    demo_service,
    episode_body,
)
from domain.commands import ApplyPayerDecision, OpenEpisode, RecordServices, ReleaseClaim
from domain.decider import decide, fold
from domain.model import Service
from domain.state import Episode
from domain.timing import trace_number
from payers.simulator import SimulatorConfig, build_decision, plan
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


def _approved_and_billed(demo: DemoEpisode, today: date) -> list[str]:
    """The demo episode through the decider: opened, the simulator's approval, today's session
    recorded and a claim released (what `devstack.seed.bill` does over the API)."""
    now = datetime.combine(today, time(9), tzinfo=UTC)
    command = OpenEpisode.model_validate(episode_body(demo, today))
    state = fold(decide(Episode(), command, now))
    request = PayerRequest(
        episode_id=demo.episode_id, trace_number=state.trace_numbers[-1], purpose="initial",
        payer_id=demo.payer_id, idempotency_key=f"{demo.episode_id}:initial",
        payload={"requested": command.requested.model_dump(mode="json")},
    )  # fmt: skip
    decision = build_decision(request, "A1", now)
    state = fold(
        decide(state, ApplyPayerDecision(delivery_id="d-1", decision=decision), now), state
    )
    services = RecordServices(services=(Service.model_validate(demo_service(demo, today)),))
    state = fold(decide(state, services, now), state)
    claim = ReleaseClaim.model_validate(demo_claim(demo, today))
    return [event.type for event in decide(state, claim, now)]


def test_the_billed_demo_episode_releases_todays_claim_clear_of_the_php_overlap():
    today = datetime.now(UTC).date()
    [billed] = BILLED_DEMOS
    assert billed.php_gap_days > 7  # DOMAIN §6: 38363 holds IOP within 7 days of PHP
    # The dev simulator's seeded answer to its request is an approval.
    trace = trace_number(billed.episode_id, 1)
    request = PayerRequest(
        episode_id=billed.episode_id, trace_number=trace, purpose="initial",
        payer_id=billed.payer_id,
        idempotency_key=idempotency_key(billed.episode_id, trace, "initial"),
    )  # fmt: skip
    assert plan(request, SimulatorConfig.from_settings(Settings(STEPDOWN_DEV=True))).action == "A1"

    assert "claim_released" in _approved_and_billed(billed, today)


def test_a_step_down_the_day_after_php_would_hold_the_same_claim():
    """The rule the billed demo keeps clear of: the usual next-day step-down is held (38363)."""
    today = datetime.now(UTC).date()
    [billed] = BILLED_DEMOS
    next_day = replace(billed, php_gap_days=1)

    assert _approved_and_billed(next_day, today)[-1] == "claim_held"

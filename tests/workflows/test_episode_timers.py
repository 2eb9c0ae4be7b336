"""Every timer path of EpisodeWorkflow, on the time-skipping test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.attendance import AttendanceEntry
from tests.support.episode_workflow import (
    EpisodeWorker,
    World,
    approval,
    decide,
    episode_worker,
    event_types,
    services_on,
    view,
)
from tests.support.temporal import find_binary
from workflows.episode import EpisodeWorkflow
from workflows.models import AppealAction, P2PAction
from workflows.temporal import DATA_CONVERTER, register_search_attributes

MA = {"payer": {"id": "ma-plan", "plan_type": "medicare_advantage"}}


@pytest.fixture
async def episode_env() -> AsyncIterator[EpisodeWorker]:
    """A time-skipping server of its own per test: a clock shared across tests can stay
    locked after an update (seen with the Java test server), stalling the next test's sleep."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=find_binary("temporal-test-server")
    )
    async with env:
        await register_search_attributes(env.client, env.client.namespace)
        async with episode_worker(env) as worker:
            yield worker


async def today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).date()


def notified(w: World) -> list[str]:
    return [n.kind for n in w.notifier.sent]


async def test_standard_request_escalates_after_seven_days_and_again_later(episode_env):
    env, w = episode_env.env, episode_env.world
    handle = await episode_env.open(**MA)
    await env.sleep(timedelta(days=7, minutes=5))
    assert (await event_types(handle))[-1] == "decision_overdue"
    assert (await view(handle)).state == "auth_requested"
    await env.sleep(timedelta(hours=48))
    assert (await event_types(handle)).count("decision_overdue") == 2
    assert notified(w).count("payer_decision_overdue") == 2


async def test_expedited_request_escalates_after_72_hours(episode_env):
    env = episode_env.env
    handle = await episode_env.open(urgency="expedited", **MA)
    await env.sleep(timedelta(hours=71))
    assert "decision_overdue" not in await event_types(handle)
    await env.sleep(timedelta(hours=2))
    assert "decision_overdue" in await event_types(handle)


async def test_medicaid_managed_care_missed_deadline_becomes_a_denial(episode_env):
    env = episode_env.env
    handle = await episode_env.open()
    await env.sleep(timedelta(days=7, minutes=5))
    current = await view(handle)
    assert current.state == "denied"
    assert {d.kind for d in current.deadlines} == {"p2p_window_closes", "appeal_filing_due"}


async def test_information_deadline_passing_is_escalated(episode_env):
    env = episode_env.env
    handle = await episode_env.open(**MA)
    await decide(handle, "A4", reason="send the updated ASAM assessment")
    assert (await view(handle)).state == "info_requested"
    await env.sleep(timedelta(days=14, minutes=5))
    assert (await event_types(handle))[-1] == "information_overdue"
    await handle.execute_update(
        EpisodeWorkflow.provide_information, c.ProvideInformation(note="assessment sent")
    )
    assert (await view(handle)).state == "auth_requested"


async def test_p2p_window_closes_then_the_unappealed_denial_closes_the_episode(episode_env):
    env = episode_env.env
    handle = await episode_env.open(**MA)
    await decide(handle, "A3", reason_code="CO-197")
    await env.sleep(timedelta(days=14, minutes=5))
    assert "p2p_window_closed" in await event_types(handle)
    with pytest.raises(Exception, match="update failed"):
        await handle.execute_update(EpisodeWorkflow.p2p, P2PAction(action="request"))
    await env.sleep(timedelta(days=47))
    result = await handle.result()
    assert result.state == "closed"


async def test_missed_p2p_calls_count_as_upheld(episode_env):
    env = episode_env.env
    handle = await episode_env.open(**MA)
    await decide(handle, "A3")
    await handle.execute_update(EpisodeWorkflow.p2p, P2PAction(action="request"))
    for _ in range(2):
        now = await env.get_current_time()
        await handle.execute_update(
            EpisodeWorkflow.p2p, P2PAction(action="schedule", at=now + timedelta(hours=2))
        )
        await env.sleep(timedelta(hours=27))
    types = await event_types(handle)
    assert types[-2:] == ["p2p_call_missed", "p2p_scheduled"] or types[-1] == "p2p_decided"
    assert (await view(handle)).state == "denied"


async def test_appeal_decision_deadline_escalates(episode_env):
    env = episode_env.env
    handle = await episode_env.open(**MA)
    await decide(handle, "A3")
    await handle.execute_update(
        EpisodeWorkflow.appeal, AppealAction(action="file", level="expedited")
    )
    await env.sleep(timedelta(hours=73))
    assert (await event_types(handle))[-1] == "appeal_decision_overdue"
    assert (await view(handle)).state == "appeal"


async def test_concurrent_review_is_requested_before_the_authorization_ends(episode_env):
    env, w = episode_env.env, episode_env.world
    handle = await episode_env.open(**MA)
    start = await today(env)
    await decide(handle, "A1", **approval(start, days=20))
    review = next(d for d in (await view(handle)).deadlines if d.kind == "concurrent_review_due")
    await env.sleep(review.due - await env.get_current_time() + timedelta(minutes=1))
    purposes = [r.purpose for r in w.gateway.accepted]
    assert purposes == ["initial", "extension"]
    assert (await view(handle)).state == "authorized"


async def test_the_concurrent_review_request_carries_the_attendance_evidence(episode_env):
    env, w = episode_env.env, episode_env.world
    handle = await episode_env.open(**MA)
    start = await today(env)
    await decide(handle, "A1", **approval(start, days=20))
    sessions = (
        AttendanceEntry(session_id="A-1", date=start, status="attended", minutes=180),
        AttendanceEntry(session_id="A-2", date=start, status="no_show"),
    )
    await handle.execute_update(
        EpisodeWorkflow.record_attendance, c.RecordAttendance(sessions=sessions)
    )
    review = next(d for d in (await view(handle)).deadlines if d.kind == "concurrent_review_due")
    await env.sleep(review.due - await env.get_current_time() + timedelta(minutes=1))
    [extension] = [r for r in w.gateway.accepted if r.purpose == "extension"]
    evidence = extension.payload["attendance_summary"]
    assert (evidence["days_attended"], evidence["hours_attended"]) == (1, "3.00")
    assert evidence["no_shows"] == [start.isoformat()] and evidence["units_used"] == 0
    assert evidence["authorization_number"] == "AUTH-1"


async def test_claims_after_the_authorization_expired_are_held(episode_env):
    env = episode_env.env
    handle = await episode_env.open(**MA)
    start = await today(env)
    await decide(handle, "A1", **approval(start, days=3))
    await env.sleep(timedelta(days=6))
    assert (await view(handle)).authorization.status == "expired"  # type: ignore[union-attr]
    day = await today(env)
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(day))
    result = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=day)
    )
    assert result.status == "held"
    assert [r.code for r in result.reasons] == ["outside_authorization_dates"]


async def test_discharge_in_one_month_releases_an_admit_through_discharge_claim(episode_env):
    env, w = episode_env.env, episode_env.world
    handle = await episode_env.open(**MA)
    start = await today(env)
    await decide(handle, "A1", **approval(start, days=30))
    await env.sleep(timedelta(hours=1))
    day = await today(env)
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(day))
    await handle.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=day, patient_status="01", disposition="completed"),
    )
    released = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=day)
    )
    assert released.status == "released" and released.claim.type_of_bill == "0761"
    assert (await handle.result()).state == "closed"
    assert [claim.claim_id for claim in w.outbox.delivered] == ["C-1"]


async def test_discharge_in_the_second_month_makes_the_last_claim_interim_last(episode_env):
    env, w = episode_env.env, episode_env.world
    handle = await episode_env.open(**MA)
    start = await today(env)
    await decide(handle, "A1", **approval(start, days=90, units=60))
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(start))
    first = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=start)
    )
    assert first.claim.type_of_bill == "0762"
    await env.sleep(timedelta(days=35))
    day = await today(env)
    assert (day.year, day.month) != (start.year, start.month)
    await handle.execute_update(EpisodeWorkflow.record_services, services_on(day))
    await handle.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=day, patient_status="01", disposition="completed"),
    )
    last = await handle.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-2", through=day)
    )
    assert last.claim.type_of_bill == "0764" and last.claim.patient_status == "01"
    assert first.claim.patient_status == "30"
    assert (await handle.result()).state == "closed"
    assert [x.claim_id for x in w.outbox.delivered] == ["C-1", "C-2"]

"""Records the workflow histories replayed by the suite (`make histories`).

Each release of the workflow keeps its own folder under tests/histories/; the suite replays
every folder, so an episode recorded by any earlier release still running in production must
replay on today's code. This records only the current release's folder (RELEASE): bump it
when the workflow's commands change, and never re-record an older folder.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.episode import EpisodeActivities
from activities.ports import InvalidRequest, PayerReceipt, PayerRequest
from domain import commands as c
from tests.support.episode_workflow import approval, decide, services_on, start_episode, view, world
from tests.support.fakes import RecordingPayerGateway
from tests.support.temporal import find_binary, running_worker
from workflows.episode import EpisodeWorkflow
from workflows.models import P2PAction
from workflows.temporal import DATA_CONVERTER, register_search_attributes

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
# A claim's first delivery rides on its projection (workflows/lanes.py); r2-effect-lanes
# holds the runs with a `deliver_claim` activity per claim, r1-effects-in-loop the runs before
# the lanes.
RELEASE = "r3-claims-with-projection"
Scenario = Callable[[WorkflowEnvironment, WorkflowHandle[Any, Any]], Awaitable[None]]


async def approved(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    today = (await env.get_current_time()).date()
    await decide(h, "A1", **approval(today))
    await h.execute_update(EpisodeWorkflow.record_services, services_on(today, 3))
    await h.execute_update(
        EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id="C-1", through=today)
    )
    await h.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=today, patient_status="01", disposition="completed"),
    )


async def denied_p2p_overturned(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    await decide(h, "A3", reason_code="CO-197", reason="not medically necessary")
    await h.execute_update(EpisodeWorkflow.p2p, P2PAction(action="request"))
    call = await env.get_current_time() + timedelta(days=1)
    await h.execute_update(EpisodeWorkflow.p2p, P2PAction(action="schedule", at=call))
    await env.sleep(timedelta(days=1, hours=1))
    await h.execute_update(EpisodeWorkflow.p2p, P2PAction(action="outcome", outcome="overturned"))
    today = (await env.get_current_time()).date()
    await decide(h, "A1", **approval(today))


async def pended_approved_extension(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    await decide(h, "A4", reason="send the updated ASAM assessment")
    await h.execute_update(EpisodeWorkflow.provide_information, c.ProvideInformation(note="sent"))
    today = (await env.get_current_time()).date()
    await decide(h, "A1", **approval(today, days=14, units=10))
    await env.sleep(timedelta(days=12))
    await decide(h, "A1", **approval(today, days=40, units=10))


async def discharge_two_months(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    start = (await env.get_current_time()).date()
    await decide(h, "A1", **approval(start, days=70, units=60))
    for week in range(6):
        day = (await env.get_current_time()).date()
        await h.execute_update(EpisodeWorkflow.record_services, services_on(day, 3))
        if week == 2:
            claim = c.ReleaseClaim(claim_id=f"C-{day:%Y-%m}", through=day)
            await h.execute_update(EpisodeWorkflow.release_claim, claim)
        await env.sleep(timedelta(days=7))
    day = (await env.get_current_time()).date() - timedelta(days=1)
    await h.execute_update(
        EpisodeWorkflow.discharge,
        c.Discharge(date=day, patient_status="01", disposition="completed"),
    )
    for n in range(3):
        await h.execute_update(
            EpisodeWorkflow.release_claim, c.ReleaseClaim(claim_id=f"C-final-{n}", through=day)
        )
        if (await view(h)).state == "closed":
            break


class RefusesFirstTry(RecordingPayerGateway):
    """Refuses every first submission; accepts the retry ops asks for (a new key)."""

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        if ":retry-" not in request.idempotency_key:
            raise InvalidRequest("member id unknown to the payer")
        return await super().submit(request)


async def refused_then_retried(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    """The payer refuses the first submission (see `record`): submission_failed, ops retry."""
    await env.sleep(timedelta(minutes=5))
    await h.execute_update(EpisodeWorkflow.retry_failed_effects, c.RetryFailedEffects(by="ops"))
    await env.sleep(timedelta(minutes=5))
    today = (await env.get_current_time()).date()
    await decide(h, "A1", **approval(today))


class InquiresToo(RecordingPayerGateway):
    """A PAS payer: `$inquire` about a pended request hears it is still pended."""

    async def inquire(self, request: PayerRequest, attempt: int) -> PayerReceipt:
        return PayerReceipt(trace_number=request.trace_number, accepted=True, action="A4")


async def pas_pended_inquired(env: WorkflowEnvironment, h: WorkflowHandle[Any, Any]) -> None:
    """A Da Vinci PAS pend (`pas-inquire` patch): two inquiries on the clock, then A1."""
    await decide(h, "A4", channel="pas", reason="awaiting the discharge summary")
    await env.sleep(timedelta(minutes=125))
    today = (await env.get_current_time()).date()
    await decide(h, "A1", channel="pas", **approval(today))


SCENARIOS: dict[str, tuple[Scenario, dict[str, Any]]] = {
    "approved": (approved, {}),
    "denied_p2p_overturned": (denied_p2p_overturned, {}),
    "pended_approved_extension": (pended_approved_extension, {}),
    "discharge_two_months_continue_as_new": (discharge_two_months, {"can_after": 8}),
    "refused_then_retried": (refused_then_retried, {}),
    "pas_pended_inquired": (pas_pended_inquired, {}),
}


async def run_histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Every run of the workflow, first to last, as history JSON."""
    out, run_id = [], handle.first_execution_run_id or handle.result_run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        out.append(history.to_json())
        last = history.events[-1]
        attrs = last.workflow_execution_continued_as_new_event_attributes
        run_id = (
            attrs.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return out


async def record(name: str, scenario: Scenario, options: dict[str, Any]) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=find_binary("temporal-test-server")
    )
    async with env:
        await register_search_attributes(env.client, env.client.namespace)
        queue = f"record-{uuid.uuid4().hex}"
        w = world()
        activities = w.activities
        if name == "refused_then_retried":
            gateway = RefusesFirstTry()
            activities = EpisodeActivities(gateway, w.read_model, w.notifier, w.outbox)
        if name == "pas_pended_inquired":
            inquiring = InquiresToo()
            activities = EpisodeActivities(inquiring, w.read_model, w.notifier, w.outbox)
        async with running_worker(env.client, activities, [EpisodeWorkflow], queue):
            handle = await start_episode(env.client, queue, **options)
            await scenario(env, handle)
            await env.sleep(timedelta(seconds=1))
            if (await view(handle)).state not in ("closed", "cancelled"):
                await handle.terminate("recorded")
            histories = await run_histories(env.client, handle)
    paths = []
    for n, text in enumerate(histories, 1):
        path = HISTORIES / RELEASE / f"{name}.run{n}.json"
        path.write_text(text)
        paths.append(path)
    return paths


async def main() -> None:
    (HISTORIES / RELEASE).mkdir(parents=True, exist_ok=True)
    for old in (HISTORIES / RELEASE).glob("*.json"):
        old.unlink()
    for name, (scenario, options) in SCENARIOS.items():
        for path in await record(name, scenario, options):
            print(f"recorded {path.relative_to(HISTORIES.parent.parent)}")


if __name__ == "__main__":
    asyncio.run(main())

"""Episode commands dated around a given day, and the lifecycle the throughput figures drive."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio.client import Client, WorkflowHandle

from domain import commands as c
from domain.model import PayerDecision, Service
from domain.timing import trace_number
from workflows.episode import EpisodeWorkflow
from workflows.models import EpisodeInput

# How far back the lifecycle's IOP started: four weekly claims fit before today.
LIFECYCLE_DAYS = 28


def open_command(
    start: date, episode_id: str | None = None, member_id: str = "MCD123456"
) -> c.OpenEpisode:
    """An episode stepping down from PHP into IOP on `start`, its PHP claims billed."""
    # More than a week after the last PHP claim, so no IOP claim is held for the overlap rule.
    php_end = start - timedelta(days=10)
    return c.OpenEpisode.model_validate(
        {
            "episode_id": episode_id or f"bench-{uuid.uuid4().hex[:16]}",
            "patient": {
                "id": "P-BENCH",
                "name": "Bench Patient",
                "birth_date": "1990-04-01",
                "member_id": member_id,
            },
            "payer": {"id": "acme-medicaid", "plan_type": "medicaid_managed_care"},
            "asam_edition": 3,
            "from_level": "2.5",
            "to_level": "2.1",
            "dimensions": {"1": 0, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2},
            "setting": "cmhc",
            "prior_authorization": {
                "number": "PHP-1",
                "level": "2.5",
                "start": (start - timedelta(days=30)).isoformat(),
                "end": php_end.isoformat(),
            },
            "requested": {
                "start": start.isoformat(),
                "units": 20,
                "unit_type": "days",
                "service_codes": ["S9480", "90853", "0905"],
            },
            "diagnoses": ["F33.1"],
            "php_last_claim_through": php_end.isoformat(),
        }
    )


def approval(episode_id: str, start: date, days: int = 40, units: int = 20) -> c.ApplyPayerDecision:
    """The payer's A1 for the episode's first request."""
    decision = PayerDecision(
        trace_number=trace_number(episode_id, 1),
        action="A1",
        authorization_number=f"AUTH-{episode_id[-8:]}",
        start=start,
        end=start + timedelta(days=days),
        units=units,
    )
    return c.ApplyPayerDecision(delivery_id=f"dlv-{uuid.uuid4().hex}", decision=decision)


def services_on(day: date, count: int = 1) -> c.RecordServices:
    """The per-diem S9480 once a day, then group sessions: a per-diem code twice a date is held
    as overbilling (DOMAIN §6)."""
    return c.RecordServices(
        services=tuple(
            Service(
                service_id=f"S-{uuid.uuid4().hex[:12]}",
                date=day,
                code="S9480" if n == 0 else "90853",
                revenue_code="0905",
                minutes=180,
                rendering_npi="1234567893",
                charge=Decimal("150.00"),
            )
            for n in range(count)
        )
    )


def discharge_on(day: date) -> c.Discharge:
    return c.Discharge(date=day, patient_status="01", disposition="completed")


async def start_episode(
    client: Client, queue: str, command: c.OpenEpisode, can_after: int = 500
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        EpisodeWorkflow.run,
        EpisodeInput(open=command, continue_as_new_after_events=can_after),
        id=f"episode-{command.episode_id}",
        task_queue=queue,
    )


async def lifecycle(client: Client, queue: str) -> str:
    """Referral → request → A1 → four weekly claims → discharge → closed; the workflow id."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=LIFECYCLE_DAYS)
    command = open_command(start)
    handle = await start_episode(client, queue, command)
    await handle.execute_update(
        EpisodeWorkflow.apply_payer_decision, approval(command.episode_id, start)
    )
    for week in range(4):
        day = start + timedelta(days=7 * week)
        await handle.execute_update(EpisodeWorkflow.record_services, services_on(day, 3))
        claim = c.ReleaseClaim(claim_id=f"C-{week + 1}", through=day)
        released = await handle.execute_update(EpisodeWorkflow.release_claim, claim)
        if released.status != "released":
            raise RuntimeError(f"claim {claim.claim_id} was held: {released.reasons}")
    await handle.execute_update(EpisodeWorkflow.discharge, discharge_on(today))
    result = await handle.result()
    if result.state != "closed":
        raise RuntimeError(f"episode ended {result.state}, not closed")
    return handle.id

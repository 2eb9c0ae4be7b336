"""The episode activities run in Temporal's activity environment: what each hands its port
(against in-memory ports), and that each is idempotent where production keeps its effects
(wired by worker.build_adapters into a real database; test_activities_wired.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.episode import (
    AuthorizationSubmission,
    ExtensionSubmission,
    PeerToPeerRequest,
)
from activities.options import OPTIONS
from activities.ports import ProjectionBatch
from domain.views import ClaimView, EpisodeSummary, StoredEvent
from tests.support.fakes import FakePorts

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts()


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


def submission(episode_id: str, trace: str = "T-1") -> AuthorizationSubmission:
    return AuthorizationSubmission(
        episode_id=episode_id, payer_id="acme", trace_number=trace, payload={"units": 12}
    )


def summary(episode_id: str, version: int) -> EpisodeSummary:
    return EpisodeSummary(
        episode_id=episode_id,
        state="authorized",
        payer_id="acme",
        plan_type="commercial",
        trace_number="T-1",
        next_deadline=None,
        authorization_end=date(2025, 3, 31),
        held_claims=0,
        version=version,
        opened_at=NOW,
        updated_at=NOW,
    )


async def test_each_request_kind_carries_its_idempotency_key(
    ports: FakePorts, env: ActivityEnvironment
) -> None:
    acts, ep = ports.activities(), f"ep-{uuid.uuid4()}"
    await env.run(acts.submit_authorization_request, submission(ep))
    await env.run(
        acts.submit_extension_request,
        ExtensionSubmission(episode_id=ep, payer_id="acme", trace_number="T-2"),
    )
    await env.run(
        acts.request_peer_to_peer,
        PeerToPeerRequest(episode_id=ep, payer_id="acme", trace_number="T-1"),
    )
    keys = [r.idempotency_key for r in ports.payer_gateway.accepted]
    assert keys == [f"{ep}:T-1:initial", f"{ep}:T-2:extension", f"{ep}:T-1:p2p"]
    assert ports.payer_gateway.accepted[0].payload == {"units": 12}


async def test_an_invalid_request_fails_without_retry(
    ports: FakePorts, env: ActivityEnvironment
) -> None:
    ports.payer_gateway.reject_as_invalid(trace_number="T-9", reason="member id unknown")
    with pytest.raises(ApplicationError) as caught:
        await env.run(ports.activities().submit_authorization_request, submission("ep", "T-9"))
    assert caught.value.type == "PayerRejectedRequest"
    assert caught.value.non_retryable
    assert "member id unknown" in caught.value.message
    assert ports.payer_gateway.accepted == []


async def test_projection_forwards_the_batch_and_its_count(
    ports: FakePorts, env: ActivityEnvironment
) -> None:
    ep = f"ep-{uuid.uuid4()}"
    events = [StoredEvent(seq=n, type="x", at=NOW, data={"n": n}) for n in (1, 2)]
    claim = ClaimView(claim_id="c-1", status="held", through=date(2025, 3, 31))
    batch = ProjectionBatch(summary=summary(ep, 2), events=events, claims=[claim])
    assert await env.run(ports.activities().project_events, batch) == 2
    assert ports.read_model.summaries[ep].version == 2
    assert ports.read_model.events[(ep, 2)].data == {"n": 2}
    assert ports.read_model.claims[(ep, "c-1")] == claim


def test_every_activity_has_call_options() -> None:
    names = {fn.__name__ for fn in FakePorts().activities().all()}
    assert names == set(OPTIONS)
    assert "PayerRejectedRequest" in (
        OPTIONS["submit_authorization_request"].retry_policy.non_retryable_error_types or []
    )

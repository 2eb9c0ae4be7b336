"""A retried activity acts once, in the adapters production wires (worker.build_adapters)
over SQLite and PostgreSQL: the submissions log, the read model, the notifications table and
the claims outbox. Activities are retried after a lost response (DESIGN.md), so each effect
is idempotent where it is stored, not in a fake standing in for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.episode import AuthorizationSubmission, EpisodeActivities
from activities.ports import Notification, OutboundClaim, ProjectionBatch
from store.db import make_engine
from store.sql import SqlReadModel
from store.sql_claims import SqlClaimBatches
from store.sql_notifications import SqlNotifications
from store.sql_payers import SqlPayerDirectory, SqlSubmissionLog
from tests.support.api_stack import SEEDED_PAYERS, api_settings, register_payers
from tests.support.claim_events import ReleasingEpisode
from tests.support.db import database_url
from tests.support.intake import new_id
from tests.support.store_factories import events, summary
from worker import build_adapters

__all__ = ["database_url"]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    register_payers(SqlPayerDirectory(created), SEEDED_PAYERS)
    yield created
    created.dispose()


@pytest.fixture
def acts(database_url: str, engine: Engine) -> EpisodeActivities:
    return build_adapters(api_settings(DATABASE_URL=database_url)).activities


async def test_a_retried_submission_is_logged_once_and_heard_as_a_duplicate(acts, engine):
    ep, env = new_id(), ActivityEnvironment()
    req = AuthorizationSubmission(
        episode_id=ep, payer_id="acme-medicaid", trace_number="T-1", payload={"units": 12}
    )

    first = await env.run(acts.submit_authorization_request, req)
    again = await env.run(acts.submit_authorization_request, req)

    assert (first.accepted, first.duplicate) == (True, False)
    assert (again.accepted, again.duplicate) == (True, True)
    [logged] = SqlSubmissionLog(engine).for_episode(ep)
    assert (logged.idempotency_key, logged.status) == (f"{ep}:T-1:initial", "awaiting_webhook")


async def test_a_repeated_projection_stores_each_event_once(acts, engine):
    ep, env = new_id(), ActivityEnvironment()
    batch = ProjectionBatch(summary=summary(ep, version=2), events=events(1, 2))

    assert await env.run(acts.project_events, batch) == 2
    assert await env.run(acts.project_events, batch) == 0

    read_model = SqlReadModel(engine)
    assert [e.seq for e in read_model.events(ep)] == [1, 2]
    assert read_model.summary(ep) == batch.summary


async def test_a_repeated_notification_is_stored_once_per_role(acts, engine):
    ep, env = new_id(), ActivityEnvironment()
    note = Notification(episode_id=ep, kind="denied", detail="CO-197", key="7")

    await env.run(acts.notify_staff, note)
    await env.run(acts.notify_staff, note)

    store = SqlNotifications(engine)
    for role in ("ops", "intake"):
        assert [(n.episode_id, n.kind) for n in store.for_role(role)] == [(ep, "denied")]


async def test_a_repeated_claim_delivery_queues_the_claim_once(acts, engine):
    env, episode = ActivityEnvironment(), ReleasingEpisode()
    read_model = SqlReadModel(engine)
    read_model.apply(*episode.opening(), claims=[])
    _, [released] = episode.release()
    claim = OutboundClaim(
        episode_id=episode.episode_id,
        claim_id=episode.claims[0],
        claim=released.data["claim"],
    )

    await env.run(acts.deliver_claim, claim)
    await env.run(acts.deliver_claim, claim)

    queued = SqlClaimBatches(engine).outbox(episode_id=episode.episode_id)
    assert [(q.claim_id, q.status) for q in queued] == [(episode.claims[0], "queued")]

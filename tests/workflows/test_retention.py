"""The namespace retention setting reaches the server: registered for a new namespace, updated
for an existing one, a no-op when already right; a server that cannot set it says so."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.support.polling import eventually
from workflows.temporal import ensure_retention, namespace_retention_days


async def test_retention_is_registered_then_updated_then_left_alone(
    dev_env: WorkflowEnvironment,
) -> None:
    # A namespace of its own, so the session's `default` keeps its settings.
    namespace = f"retention-{uuid.uuid4().hex[:8]}"
    client: Client = dev_env.client

    registered = await ensure_retention(client, namespace, 7)
    assert registered == f"registered namespace {namespace} with a retention of 7 days"
    assert await namespace_retention_days(client, namespace) == 7

    async def updated() -> str | None:
        # The frontend's namespace cache learns of a new namespace within seconds.
        try:
            return await ensure_retention(client, namespace, 45)
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND
            return None

    assert await eventually(updated, timeout=30.0) == (
        f"retention of {namespace} set from 7 to 45 days"
    )
    assert await namespace_retention_days(client, namespace) == 45
    assert await ensure_retention(client, namespace, 45) == f"retention of {namespace} is 45 days"


async def test_a_server_without_namespaces_is_reported_not_fatal(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    said = await ensure_retention(client, client.namespace, 30)
    assert said.startswith("retention not set (UNIMPLEMENTED)")

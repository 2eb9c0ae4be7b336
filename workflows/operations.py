"""Operations on episode workflows that are stuck: find them, and reset one to its last good task.

A workflow task that fails again and again (a bug, or code that no longer replays a history:
TMPRL1100) leaves the episode running but deaf: updates get no answer and deadlines do not
fire. Temporal retries the task forever; these tools let ops see and mend it. The runbook is
in docs/reliability.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

from workflows.client import workflow_id

# A task failing this many times in a row is not a passing hiccup (a worker restart).
STUCK_AFTER_ATTEMPTS = 3


@dataclass(frozen=True)
class StuckEpisode:
    episode_id: str
    run_id: str
    attempts: int


@dataclass(frozen=True)
class ResetDone:
    episode_id: str
    old_run_id: str
    new_run_id: str
    # The WorkflowTaskCompleted event the new run starts after.
    reset_to_event: int


async def stuck_episodes(
    client: Client, attempts: int = STUCK_AFTER_ATTEMPTS
) -> list[StuckEpisode]:
    """Running episodes whose current workflow task has failed `attempts` times or more."""
    query = "WorkflowType = 'EpisodeWorkflow' AND ExecutionStatus = 'Running'"
    stuck = []
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        described = await handle.describe()
        pending = described.raw_description.pending_workflow_task
        if pending.attempt >= attempts:
            episode_id = execution.id.removeprefix("episode-")
            stuck.append(StuckEpisode(episode_id, execution.run_id, pending.attempt))
    return sorted(stuck, key=lambda s: s.episode_id)


async def reset_to_last_good_task(client: Client, episode_id: str, reason: str) -> ResetDone:
    """Starts a new run from the last workflow task that completed in the current run.

    What happened after it (the failing tasks) is dropped; signals and updates received after
    it are applied again by the server, so nothing a person or a payer sent is lost.
    """
    if not reason.strip():
        raise ValueError("a reset needs a reason: it is kept in the workflow's history")
    handle = client.get_workflow_handle(workflow_id(episode_id))
    history = await handle.fetch_history()
    completed = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    if not completed:
        raise ValueError(f"episode {episode_id} has no completed workflow task to reset to")
    run_id = history.run_id
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=handle.id, run_id=run_id),
        reason=reason,
        workflow_task_finish_event_id=completed[-1],
        request_id=str(uuid.uuid4()),
    )
    response = await client.workflow_service.reset_workflow_execution(request)
    return ResetDone(episode_id, run_id, response.run_id, completed[-1])

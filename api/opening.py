"""Opening an episode from the API or the console: the trace route first, the outcome audited.

The first request's trace number is known before the workflow starts (domain.timing), so its
route to the episode is stored before the payer can possibly learn it. When Temporal does not
answer in time the caller hears 503, yet the episode may have been created; a background
check finds out and audits what really happened.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import InterfaceError, OperationalError

from api.auth import User
from api.deps import ApiDeps, blocking
from api.episode_calls import EpisodeCalls
from domain import commands as c
from domain.decider import decide
from domain.errors import Rejected
from domain.state import Episode
from domain.timing import trace_number
from domain.views import EpisodeView
from store.ports import AuditEntry
from workflows.client import WorkflowServiceUnavailable

log = logging.getLogger("stepdown.api.opening")
# The check after a 503 has nobody waiting on it: it may wait longer than a request would.
CONFIRM_TIMEOUT_SECONDS = 30.0
CONFIRM_DELAYS_SECONDS = (1.0, 2.0, 4.0, 8.0)
# Checks in flight, kept so the event loop does not drop them half-way.
_confirming: set[asyncio.Task[None]] = set()


async def open_episode(
    deps: ApiDeps,
    gateway: EpisodeCalls,
    command: c.OpenEpisode,
    *,
    user: User,
    action: str,
    request_id: str,
) -> tuple[EpisodeView, bool]:
    # Every intake problem first (as EpisodeClient.open does), so a refused body leaves no route.
    decide(Episode(), command, datetime.now(UTC))
    await _route_first_request(deps, command)
    try:
        return await gateway.open(command)
    except WorkflowServiceUnavailable:
        confirm = _confirm_later(deps, gateway, command.episode_id, user, action, request_id)
        task = asyncio.create_task(confirm)
        _confirming.add(task)
        task.add_done_callback(_confirming.discard)
        raise


async def _route_first_request(deps: ApiDeps, command: c.OpenEpisode) -> None:
    trace = trace_number(command.episode_id, 1)
    try:
        await blocking(
            deps.read_model.record_trace, trace, command.episode_id, command.payer.id, deps.clock()
        )
    except (OperationalError, InterfaceError) as err:
        # Intake needs only Temporal; the projection writes the route before the request is
        # submitted anyway (store.sql_routes.route_requests), so an outage must not stop it.
        log.warning("trace route of %s not recorded at intake: %s", trace, type(err).__name__)


async def _confirm_later(
    deps: ApiDeps,
    gateway: EpisodeCalls,
    episode_id: str,
    user: User,
    action: str,
    request_id: str,
) -> None:
    waiting = EpisodeCalls(gateway.client, CONFIRM_TIMEOUT_SECONDS)
    # Temporal never answering leaves it unknown; Temporal saying "no such episode" does not.
    outcome = "unconfirmed"
    for delay in CONFIRM_DELAYS_SECONDS:
        await asyncio.sleep(delay)
        try:
            await waiting.view(episode_id)
        except Rejected:
            outcome = "not_created"  # not there (yet): the start may still be on its way
            continue
        except WorkflowServiceUnavailable:
            continue
        except Exception as err:  # the check must never crash the loop it runs on
            log.error("confirming episode %s failed: %s", episode_id, type(err).__name__)
            return
        outcome = "created_after_unavailable"
        break
    entry = AuditEntry(
        actor=user.actor,
        role=user.role,
        action=action,
        route="after 503",
        episode_id=episode_id,
        outcome=outcome,
        status_code=201 if outcome == "created_after_unavailable" else 503,
        request_id=request_id,
        at=deps.clock(),
    )
    try:
        await blocking(deps.audit_log.append, entry)
    except Exception as err:
        log.error("audit append failed; entry %s: %s", entry.model_dump_json(), type(err).__name__)

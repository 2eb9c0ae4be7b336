"""Operations routes: the worklist and the audit trail (ops), health and metrics (open)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from api.auth import OpsUser
from api.deps import ApiDeps, Deps, HealthCheck, MetricsDep, blocking
from api.metrics import CONTENT_TYPE_PLAIN_0_0_4
from api.problems import PROBLEM_JSON, ApiProblem, ProblemItem, problem_body, problem_responses
from api.schemas import Health
from domain.commands import EPISODE_ID_PATTERN
from domain.views import WorklistItem, WorklistKind
from store.ports import AuditEntry

router = APIRouter(tags=["operations"])


@router.get(
    "/worklist",
    name="worklist",
    summary="What needs a person, most urgent first (ops)",
    responses=problem_responses(401, 403, 422, 503),
)
async def worklist(
    user: OpsUser,
    deps: Deps,
    kind: WorklistKind | None = None,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[
        str | None, Query(max_length=40, description="only the episodes this username owns")
    ] = None,
) -> list[WorklistItem]:
    items: list[WorklistItem] = await blocking(deps.read_model.worklist, kind, payer_id)
    if deps.stuck is not None and kind in (None, "workflow_stuck") and payer_id is None:
        items = deps.stuck.items() + items
    if owner is None:
        return items
    owned = await blocking(owned_by, deps, owner)
    return [item for item in items if item.episode_id in owned]


def owned_by(deps: ApiDeps, username: str) -> set[str]:
    record = deps.users.by_username(username) if deps.users is not None else None
    if record is None:
        detail = f"there is no user {username!r}"
        item = ProblemItem(detail=detail, parameter="owner")
        raise ApiProblem(422, "invalid_input", detail, errors=[item])
    assert deps.users is not None
    return set(deps.users.owned_by(record.id))


@router.get(
    "/audit",
    name="audit",
    summary="The audit trail, newest first (ops)",
    responses=problem_responses(401, 403, 422, 503),
)
async def audit(
    user: OpsUser,
    deps: Deps,
    episode_id: Annotated[str | None, Query(pattern=EPISODE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntry]:
    return await blocking(deps.audit_log.entries, episode_id, limit)


@router.get(
    "/healthz",
    name="healthz",
    summary="200 when the API, the database and Temporal answer; 503 naming which does not",
    responses=problem_responses(503),
)
async def healthz(deps: Deps) -> Health:
    names = ("database", "temporal")
    results = await asyncio.gather(
        *(_check(check) for check in (deps.database_health, deps.temporal_health))
    )
    checks = {"api": "ok", **dict(zip(names, results, strict=True))}
    down = [name for name, result in checks.items() if result != "ok"]
    if down:
        detail = f"not answering: {', '.join(down)}"
        body = problem_body(503, "unavailable", detail, checks=checks)
        return JSONResponse(body, 503, media_type=PROBLEM_JSON)  # type: ignore[return-value]
    return Health(checks=checks)


async def _check(check: HealthCheck) -> str:
    try:
        await check()
    except Exception as err:
        return f"unavailable: {type(err).__name__}"
    return "ok"


@router.get(
    "/metrics",
    name="metrics",
    summary="Prometheus text format: requests, webhook outcomes, claim outcomes",
    response_class=PlainTextResponse,
)
async def metrics(metrics: MetricsDep) -> PlainTextResponse:
    return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

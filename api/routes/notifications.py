"""Staff notifications over HTTP: each role's own, marked read (every role; billing, which has
no console, reads its notifications here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from api.auth import CurrentUser
from api.deps import ClockDep, Deps, blocking
from api.problems import ApiProblem, problem_responses
from store.sql_notifications import SqlNotifications, StoredNotification

router = APIRouter(tags=["notifications"])
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NotificationList(BaseModel):
    notifications: list[StoredNotification]


class Marked(BaseModel):
    marked: int


def notifications_store(deps: Deps) -> SqlNotifications:
    if deps.notifications is None:
        raise ApiProblem(503, "notifications_not_configured", "this API keeps no notifications")
    return deps.notifications


Notes = Annotated[SqlNotifications, Depends(notifications_store)]


@router.get(
    "/notifications",
    name="notifications.list",
    summary="Your role's notifications, newest first (admin: every role's)",
    responses=problem_responses(401, 422),
)
async def list_notifications(
    user: CurrentUser,
    notes: Notes,
    unread: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> NotificationList:
    found = await blocking(notes.for_role, user.role, unread, limit)
    return NotificationList(notifications=found)


@router.post(
    "/notifications/{notification_id}/read",
    name="notifications.read",
    summary="Mark one of your role's notifications read",
    responses=problem_responses(401, 404, 422),
)
async def mark_read(
    notification_id: NotificationId,
    user: CurrentUser,
    notes: Notes,
    clock: ClockDep,
    request: Request,
) -> Marked:
    done = await blocking(notes.mark_read, notification_id, user.role, user.actor, clock())
    if not done:
        raise ApiProblem(
            404,
            "unknown_notification",
            f"no unread notification {notification_id} for the {user.role} role",
        )
    request.state.outcome = "read"
    return Marked(marked=1)


@router.post(
    "/notifications/read",
    name="notifications.read_all",
    summary="Mark every unread notification of your role read",
    responses=problem_responses(401),
)
async def mark_all_read(user: CurrentUser, notes: Notes, clock: ClockDep) -> Marked:
    return Marked(marked=await blocking(notes.mark_all_read, user.role, user.actor, clock()))

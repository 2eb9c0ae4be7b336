"""The console's notifications: each role's unread notifications, marked read one by one or all."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from api.console.gate import enter, submitted
from api.console.page import csrf_input, message_page, render
from api.console.session import Session
from api.console.templates import render_template
from api.console.when import at_html
from api.deps import blocking, get_deps
from store.sql_notifications import SqlNotifications, StoredNotification

router = APIRouter()
LABELS = {
    "payer_decision_overdue": "Payer decision overdue",
    "denied": "Authorization denied",
    "info_requested": "Information requested",
    "claims_held": "Claim held",
    "authorization_ended": "Authorization ended",
    "payer_notice": "Payer notice",
}


def store(request: Request) -> SqlNotifications | None:
    return get_deps(request).notifications


def body(notes: list[StoredNotification], session: Session, now: datetime) -> str:
    # csrf_input and at_html build escaped HTML of their own; Markup keeps it as is (the
    # console's one Environment autoescapes everything else, a payer's free text included).
    return render_template(
        "notifications.html",
        notes=notes,
        role=session.role,
        labels=LABELS,
        csrf=Markup(csrf_input(session)),
        when=lambda at: Markup(at_html(at, now)),
    )


@router.get("/notifications", name="console.notifications")
async def notifications(request: Request) -> Response:
    gate = await enter(request)
    if isinstance(gate, Response):
        return gate
    notes = store(request)
    if notes is None:
        return message_page("Notifications", "This console keeps no notifications.", gate, 503)
    unread = await blocking(notes.for_role, gate.role)
    return render("Notifications", body(unread, gate, get_deps(request).clock()), gate)


@router.post("/notifications/{notification_id}/read", name="console.notification_read")
async def mark_read(request: Request, notification_id: int) -> Response:
    posted = await submitted(request)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    notes = store(request)
    if notes is None:
        return message_page("Notifications", "This console keeps no notifications.", session, 503)
    now = get_deps(request).clock()
    done = await blocking(notes.mark_read, notification_id, session.role, session.user.actor, now)
    if not done:
        detail = "There is no unread notification with that number for your role."
        return message_page("No such notification", detail, session, 404)
    return RedirectResponse("/console/notifications", status_code=303)


@router.post("/notifications/read", name="console.notifications_read")
async def mark_all_read(request: Request) -> Response:
    posted = await submitted(request)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    notes = store(request)
    if notes is None:
        return message_page("Notifications", "This console keeps no notifications.", session, 503)
    now = get_deps(request).clock()
    await blocking(notes.mark_all_read, session.role, session.user.actor, now)
    return RedirectResponse("/console/notifications", status_code=303)

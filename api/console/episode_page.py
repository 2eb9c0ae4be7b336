"""The episode page: state, authorization and units, deadlines, claims, actions and timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from api.console.actions import Failure, actions_html
from api.console.attendance_card import attendance_card, dropped_html
from api.console.next_step import next_step
from api.console.session import Session
from api.console.submissions_card import submissions_card
from api.console.templates import render_template
from api.console.timeline import timeline_html
from api.console.when import days_left, due_html
from domain.model import TERMINAL_STATES
from domain.views import EpisodeView, StoredEvent, UnitsView
from store.attachments import MAX_BYTES, Attachment
from store.notes import Note
from store.submissions import Submission

UTC_ZONE = ZoneInfo("UTC")
STATE_STYLE = {
    "authorized": "ok",
    "discharged": "ok",
    "closed": "ok",
    "denied": "bad",
    "expired": "bad",
    "cancelled": "bad",
    "info_requested": "warn",
    "p2p_requested": "warn",
    "p2p_scheduled": "warn",
    "appeal": "warn",
}

# Sets each P2P form's hidden offset from the browser, so a local call time reaches us as UTC;
# and drops `?done=` from the address once shown, so a reload does not repeat the notice.
EPISODE_SCRIPT = (
    "document.querySelectorAll('[data-tz-offset]').forEach(function(i)"
    "{i.value=String(new Date().getTimezoneOffset());});"
    "if(location.search.indexOf('done=')>=0){history.replaceState(null,'',location.pathname);}"
    # Discharge and cancel cannot be undone: ask first (the forms carry data-confirm).
    "document.querySelectorAll('form[data-confirm]').forEach(function(f){"
    "f.addEventListener('submit',function(e){"
    "if(!window.confirm(f.getAttribute('data-confirm'))){e.preventDefault();}});});"
)


@dataclass
class EpisodePage:
    view: EpisodeView
    events: list[StoredEvent]
    history_url: str
    now: datetime
    failed: tuple[str, Failure] | None = None
    notice: str = ""
    submissions: list[Submission] = field(default_factory=list)
    zone: ZoneInfo = UTC_ZONE
    owner: str | None = None
    # (username, name) of the people ops may give the episode to.
    people: list[tuple[str, str]] = field(default_factory=list)
    # None: notes are unavailable (no payload key); a refused note comes back with its error.
    notes: list[Note] | None = None
    note_draft: str = ""
    note_error: str = ""
    # None: attachments are unavailable (no payload key).
    files: list[Attachment] | None = None


def authorization_status(view: EpisodeView, now: datetime) -> tuple[str, str]:
    """The authorization's status and what is left of it; a closed, cancelled or discharged
    episode uses its authorization no more."""
    auth, state = view.authorization, view.state
    if auth is None:
        return "", ""
    ended = auth.status == "active" and (state in TERMINAL_STATES or state == "discharged")
    status = f"ended ({state})" if ended else auth.status
    return status, "no longer used" if ended else days_left(auth.end, now.date())


def units_widths(units: UnitsView) -> dict[str, float]:
    """The used and remaining shares of the approved units, in percent, for the bar."""
    approved = max(units.approved, 1)
    used = min(units.used, units.approved)
    return {"used": 100 * used / approved, "left": 100 * max(units.remaining, 0) / approved}


def episode_body(page: EpisodePage, session: Session) -> str:
    view = page.view
    step = next_step(view, page.events, session, page.now, page.zone)
    opened = next((e.data for e in page.events if e.type == "episode_opened"), None)
    status, left = authorization_status(view, page.now)
    ordered = sorted(view.claims, key=lambda c: (c.status != "held", c.through))
    ops = session.may("ops")
    return render_template(
        "episode.html",
        view=view,
        notice=page.notice,
        state_style=STATE_STYLE,
        opened=opened,
        patient=(opened or {}).get("patient") or {},
        step=step,
        auth_status=status,
        auth_left=left,
        bar=units_widths(view.units),
        deadlines=[(d.kind, due_html(d.due, page.now)) for d in view.deadlines],
        claims=[(c, "" if c.status == "superseded" else dropped_html(c)) for c in ordered],
        attendance=attendance_card(view.attendance),
        actions=actions_html(
            view.episode_id, view.state, session, page.failed, step.action, page.files
        ),
        owner_card=owner_card(page, session),
        notes_card=notes_card(page, session),
        files_card=files_card(page, session),
        ops=ops,
        submissions=submissions_card(page.submissions) if ops else "",
        history_url=page.history_url,
        timeline=timeline_html(page.events, page.now) if ops else "",
    )


def owner_card(page: EpisodePage, session: Session) -> str:
    return render_template(
        "owner.html",
        owner=page.owner,
        may_assign=session.may("ops"),
        episode_id=page.view.episode_id,
        csrf=session.csrf,
        people=page.people,
    )


def notes_card(page: EpisodePage, session: Session) -> str:
    return render_template(
        "notes.html",
        notes=page.notes or [],
        unavailable=page.notes is None,
        episode_id=page.view.episode_id,
        csrf=session.csrf,
        draft=page.note_draft,
        error=page.note_error,
    )


def files_card(page: EpisodePage, session: Session) -> str:
    return render_template(
        "attachments.html",
        files=page.files or [],
        unavailable=page.files is None,
        episode_id=page.view.episode_id,
        csrf=session.csrf,
        max_kib=MAX_BYTES // 1024,
    )

"""The episode page: state, authorization and units, deadlines, claims, actions and timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from api.console.actions import Failure, actions_html
from api.console.attendance_card import attendance_card, dropped_html
from api.console.next_step import next_step
from api.console.page import esc
from api.console.session import Session
from api.console.submissions_card import submissions_card
from api.console.templates import render_template
from api.console.timeline import timeline_html
from api.console.when import days_left, due_html
from domain.model import TERMINAL_STATES
from domain.views import AuthorizationView, ClaimView, EpisodeView, StoredEvent, UnitsView
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


def state_badge(state: str) -> str:
    return f'<span class="badge {STATE_STYLE.get(state, "")}">{esc(state.replace("_", " "))}</span>'


def patient_line(events: list[StoredEvent]) -> str:
    opened = next((e for e in events if e.type == "episode_opened"), None)
    if opened is None:
        return ""
    patient = opened.data.get("patient") or {}
    return (
        f'<p class="muted">Patient <strong>{esc(patient.get("name"))}</strong>, born '
        f"{esc(patient.get('birth_date'))}, member {esc(patient.get('member_id'))} · "
        f"{esc(opened.data.get('from_level'))} → {esc(opened.data.get('to_level'))}, "
        f"{esc(opened.data.get('setting'))}</p>"
    )


def units_bar(units: UnitsView, unit_type: str) -> str:
    approved = max(units.approved, 1)
    used = min(units.used, units.approved)
    used_pct = 100 * used / approved
    left_pct = 100 * max(units.remaining, 0) / approved
    label = f"{units.used} of {units.approved} {unit_type} used, {units.remaining} remaining"
    return (
        f'<div class="bar" role="img" aria-label="{esc(label)}">'
        f'<div class="used" style="width:{used_pct:.1f}%"></div>'
        f'<div class="left" style="width:{left_pct:.1f}%"></div></div>'
        f'<div class="legend"><span>approved <strong>{units.approved}</strong></span>'
        f"<span>used <strong>{units.used}</strong></span>"
        f"<span>remaining <strong>{units.remaining}</strong></span></div>"
    )


def authorization_card(
    auth: AuthorizationView | None, units: UnitsView, now: datetime, state: str = ""
) -> str:
    if auth is None:
        return (
            '<section class="card" aria-labelledby="auth-h"><h2 id="auth-h">Authorization</h2>'
            '<p class="muted">No authorization yet.</p></section>'
        )
    # A closed, cancelled or discharged episode uses its authorization no more.
    ended = auth.status == "active" and (state in TERMINAL_STATES or state == "discharged")
    status = f"ended ({state})" if ended else auth.status
    style = "ok" if status == "active" else "bad"
    left = "no longer used" if ended else days_left(auth.end, now.date())
    return (
        '<section class="card" aria-labelledby="auth-h"><h2 id="auth-h">Authorization '
        f'<span class="badge {style}">{esc(status)}</span></h2>'
        f'<dl class="facts"><dt>Number</dt><dd>{esc(auth.number)}</dd>'
        f"<dt>Dates</dt><dd>{esc(auth.start)} to {esc(auth.end)} · "
        f"<strong>{esc(left)}</strong></dd>"
        f"<dt>Codes</dt><dd>{esc(', '.join(auth.service_codes))}</dd></dl>"
        f"{units_bar(units, auth.unit_type)}</section>"
    )


def deadlines_card(view: EpisodeView, now: datetime) -> str:
    rows = "".join(
        f"<tr><td>{esc(d.kind.replace('_', ' '))}</td><td>{due_html(d.due, now)}</td></tr>"
        for d in view.deadlines
    )
    table = (
        f"<table><thead><tr><th>Deadline</th><th>Due</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">Nothing is waiting on the clock.</p>'
    )
    return (
        '<section class="card" aria-labelledby="dl-h">'
        f'<h2 id="dl-h">Deadlines</h2>{table}</section>'
    )


def claim_row(claim: ClaimView) -> str:
    if claim.status == "superseded":
        by = f"its lines are on {esc(claim.superseded_by)}" if claim.superseded_by else "withdrawn"
        return (
            f'<tr><td>{esc(claim.claim_id)}</td><td><span class="badge">superseded</span></td>'
            f"<td>{esc(claim.through)}</td><td>{by}</td></tr>"
        )
    if claim.status == "released" and claim.claim is not None:
        body = claim.claim
        what = (
            f"TOB {esc(body.type_of_bill)}, {esc(body.from_)} to {esc(body.through)}, "
            f"{len(body.lines)} line(s)"
        )
        badge = '<span class="badge ok">released</span>'
    else:
        what = "<br>".join(
            f"<strong>{esc(r.code)}</strong>: {esc(r.detail)}" for r in claim.reasons
        )
        badge = '<span class="badge bad">held</span>'
    return (
        f"<tr><td>{esc(claim.claim_id)}</td><td>{badge}</td>"
        f"<td>{esc(claim.through)}</td><td>{what}{dropped_html(claim)}</td></tr>"
    )


def claims_card(claims: list[ClaimView]) -> str:
    ordered = sorted(claims, key=lambda c: (c.status != "held", c.through))
    rows = "".join(claim_row(c) for c in ordered)
    table = (
        "<table><thead><tr><th>Claim</th><th>Status</th><th>Through</th>"
        f"<th>Claim or hold reasons</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">No claims yet.</p>'
    )
    return (
        f'<section class="card" aria-labelledby="cl-h"><h2 id="cl-h">Claims</h2>{table}</section>'
    )


def episode_body(page: EpisodePage, session: Session) -> str:
    view = page.view
    notice = f'<div class="alert ok" role="status">{esc(page.notice)}</div>' if page.notice else ""
    trace = f" · trace {esc(view.trace_number)}" if view.trace_number else ""
    step = next_step(view, page.events, session, page.now, page.zone)
    return (
        f"{notice}<h1>Episode {esc(view.episode_id)} {state_badge(view.state)}</h1>"
        f"{patient_line(page.events)}"
        f'<p class="small">Payer <strong>{esc(view.payer.id)}</strong> '
        f"({esc(view.payer.plan_type.replace('_', ' '))}){trace} · version {view.version}</p>"
        f"{render_template('next_step.html', step=step)}"
        f'<div class="grid">'
        f"{authorization_card(view.authorization, view.units, page.now, view.state)}"
        f"{deadlines_card(view, page.now)}</div>"
        f'<div style="height:1rem"></div>{claims_card(view.claims)}'
        f"{attendance_card(view.attendance)}"
        '<section class="card" aria-labelledby="act-h"><h2 id="act-h">Actions</h2>'
        f"{actions_html(view.episode_id, view.state, session, page.failed, step.action)}"
        "</section>"
        f"{owner_card(page, session)}{notes_card(page, session)}{files_card(page, session)}"
        f"{submissions_card(page.submissions) if session.may('ops') else ''}"
        f"{timeline_card(page) if session.may('ops') else ''}"
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


def timeline_card(page: EpisodePage) -> str:
    """Ops only, as GET /episodes/{id}/events and /history are: the whole record, who did what."""
    return (
        '<section class="card" aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2>'
        f'<p class="small"><a href="{esc(page.history_url)}" target="_blank" rel="noopener">'
        "Open the workflow history in the Temporal UI</a></p>"
        f"{timeline_html(page.events, page.now)}</section>"
    )

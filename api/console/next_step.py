"""The episode page's "next step": what happened last, what is due when, the one main action,
the denial reason and the scheduled P2P call, in the facility's local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from api.console.actions import ACTIONS
from api.console.session import Session
from api.console.timeline import WHO
from api.console.when import local_due_html, since
from domain.views import EpisodeView, StoredEvent

# The action that moves each state on; the other forms fold away under "More actions".
PRIMARY = {
    "info_requested": "information",
    "denied": "p2p-request",
    "p2p_requested": "p2p-schedule",
    "p2p_scheduled": "p2p-outcome",
    "appeal": "appeal-outcome",
}
WAITING = {
    "referred": "Nothing to do yet: the authorization request is being sent to the payer.",
    "auth_requested": "Wait for the payer's decision; the worklist shows it if the payer is late.",
    "authorized": (
        "Billing records the attended services; discharge the patient when they leave IOP."
    ),
    "expired": "The authorization has ended: ask the payer for more, or discharge the patient.",
    "discharged": "Discharged: billing sends the last claims.",
    "closed": "Closed: nothing more to do.",
    "cancelled": "Cancelled: nothing more to do.",
}


@dataclass(frozen=True)
class NextStep:
    happened: str
    happened_when: str
    due_label: str | None
    due_html: str  # trusted: when.local_due_html
    action: str | None  # the form's name, when this session may use it
    action_title: str
    waiting: str
    denial: str | None
    p2p_call: str | None
    pend: str | None = None  # what the payer asked for when it pended the request (A4)


def headline(event: StoredEvent) -> str:
    """The last event in a few words and by whom; the timeline below has the whole sentence."""
    words = event.type.replace("_", " ").replace("p2p", "P2P")
    what = words[:1].upper() + words[1:]
    actor = event.data.get("actor")
    who = actor.get("name") or actor.get("role") if isinstance(actor, dict) else WHO.get(event.type)
    return f"{what} ({who})" if who else what


def _local(at: str | None, zone: ZoneInfo) -> str | None:
    if not at:
        return None
    local = datetime.fromisoformat(at).astimezone(zone)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def _last(events: list[StoredEvent], kind: str) -> StoredEvent | None:
    return next((e for e in reversed(events) if e.type == kind), None)


def next_step(
    view: EpisodeView, events: list[StoredEvent], session: Session, now: datetime, zone: ZoneInfo
) -> NextStep:
    last = events[-1] if events else None
    due = view.deadlines[0] if view.deadlines else None
    name = PRIMARY.get(view.state)
    action = ACTIONS.get(name) if name else None
    usable = action is not None and session.may(*action.roles)
    denied = _last(events, "authorization_denied") if view.state in PRIMARY else None
    scheduled = _last(events, "p2p_scheduled") if view.state == "p2p_scheduled" else None
    pended = _last(events, "information_requested") if view.state == "info_requested" else None
    return NextStep(
        happened=headline(last) if last else "Nothing projected yet.",
        happened_when=since(last.at, now) if last else "",
        due_label=due.kind.replace("_", " ") if due else None,
        due_html=local_due_html(due.due if due else None, now, zone),
        action=name if usable else None,
        action_title=action.title if action else "",
        waiting=WAITING.get(view.state, "") if action is None else "",
        denial=(denied.data.get("reason") or denied.data.get("reason_code")) if denied else None,
        p2p_call=_local(scheduled.data.get("call_at"), zone) if scheduled else None,
        pend=(pended.data.get("reason") or "see the payer's portal") if pended else None,
    )

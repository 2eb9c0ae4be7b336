"""The "All episodes" page: search by patient, member id, authorization or trace number,
filtered by state and payer (intake and ops, as GET /episodes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from api.console.templates import render_template
from api.console.when import due_html
from api.deps import ApiDeps, blocking
from domain.model import EpisodeStateName
from domain.views import EpisodeSummary

STATES: tuple[str, ...] = get_args(EpisodeStateName)
PAGE = 100
MAX_QUERY = 200


@dataclass(frozen=True)
class Row:
    episode_id: str
    patient_name: str | None
    member_id: str | None
    state: str
    payer_id: str
    due: str  # trusted HTML of when.due_html
    held_claims: int


def clean_state(state: str | None) -> str | None:
    return state if state in STATES else None


def clean_query(q: str | None) -> str | None:
    q = (q or "").strip()
    return q[:MAX_QUERY] if q else None


async def find(
    deps: ApiDeps, q: str | None, state: str | None, payer: str | None
) -> tuple[list[EpisodeSummary], bool, list[str]]:
    """One page of matches, whether there are more, and the payers to filter by."""
    found, more = await blocking(deps.read_model.list_episodes, state, payer, None, PAGE, None, q)
    recent, _ = await blocking(deps.read_model.list_episodes, None, None, None, 200)
    payers = sorted({s.payer_id for s in recent} | ({payer} if payer else set()))
    return found, more is not None, payers


def episodes_body(
    found: list[EpisodeSummary],
    more: bool,
    payers: list[str],
    q: str | None,
    state: str | None,
    payer: str | None,
    now: datetime,
) -> str:
    rows = [
        Row(
            s.episode_id,
            s.patient_name,
            s.member_id,
            s.state,
            s.payer_id,
            due_html(s.next_deadline, now),
            s.held_claims,
        )
        for s in found
    ]
    states = [(value, value.replace("_", " ")) for value in STATES]
    return render_template(
        "episodes.html",
        episodes=rows,
        more=more,
        payers=payers,
        states=states,
        query=q,
        state=state,
        payer=payer,
    )

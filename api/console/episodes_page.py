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
from store.ports import PatientLabel

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


@dataclass(frozen=True)
class Found:
    episodes: list[EpisodeSummary]
    patients: dict[str, PatientLabel]
    more: bool
    payers: list[str]


async def find(deps: ApiDeps, q: str | None, state: str | None, payer: str | None) -> Found:
    """One page of matches with their patients, whether there are more, and the payers."""
    found, more = await blocking(deps.read_model.list_episodes, state, payer, None, PAGE, None, q)
    patients = await blocking(deps.read_model.patients, [s.episode_id for s in found])
    recent, _ = await blocking(deps.read_model.list_episodes, None, None, None, 200)
    payers = sorted({s.payer_id for s in recent} | ({payer} if payer else set()))
    return Found(found, patients, more is not None, payers)


def _row(summary: EpisodeSummary, patient: PatientLabel | None, now: datetime) -> Row:
    return Row(
        summary.episode_id,
        patient.name if patient else None,
        patient.member_id if patient else None,
        summary.state,
        summary.payer_id,
        due_html(summary.next_deadline, now),
        summary.held_claims,
    )


def episodes_body(
    found: Found, q: str | None, state: str | None, payer: str | None, now: datetime
) -> str:
    rows = [_row(s, found.patients.get(s.episode_id), now) for s in found.episodes]
    states = [(value, value.replace("_", " ")) for value in STATES]
    return render_template(
        "episodes.html",
        episodes=rows,
        more=found.more,
        payers=found.payers,
        states=states,
        query=q,
        state=state,
        payer=payer,
    )

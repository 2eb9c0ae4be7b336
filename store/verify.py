"""What `stepdown events verify` checks in the database alone: chains, seqs, folds, summaries.

The live comparison with the workflow is added by devstack/records.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from domain.evolve import evolve
from domain.replay import event_of
from domain.state import Episode
from domain.views import StoredEvent
from store.chain import chain_problems
from store.event_store import SqlEventStore, stored_event
from store.sql import SqlReadModel


@dataclass
class EpisodeCheck:
    episode_id: str
    events: list[StoredEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The fold of the stored events; None when they do not fold.
    state: Episode | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def fold_stored(episode_id: str, events: list[StoredEvent]) -> tuple[Episode | None, list[str]]:
    """The state the events fold into, or None and the first event that does not fold."""
    state = Episode()
    for event in events:
        try:
            state = evolve(state, event_of(event))
        except (ValidationError, KeyError, AssertionError, ValueError) as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            return None, [f"{episode_id}: seq {event.seq} ({event.type}) does not fold: {reason}"]
    return state, []


def check_stored(store: SqlEventStore, read_model: SqlReadModel, episode_id: str) -> EpisodeCheck:
    """The episode's chain, its seq run, its fold, and the derived summary against the fold."""
    recorded = store.recorded(episode_id)
    check = EpisodeCheck(episode_id, events=[stored_event(r) for r in recorded])
    if not recorded:
        purged = store.purged(episode_id)
        if purged is None:
            check.problems.append(f"{episode_id}: no events in the event store")
        else:
            check.notes.append(
                f"purged {purged.purged_at:%Y-%m-%d} by {purged.purged_by} "
                f"({purged.events} events, head {purged.head_hash[:12]}…)"
            )
        return check
    check.problems += chain_problems(episode_id, recorded)
    check.state, unfolded = fold_stored(episode_id, check.events)
    check.problems += unfolded
    summary = read_model.summary(episode_id)
    if check.state is not None and summary is not None:
        folded = (check.state.status, check.state.version)
        if (summary.state, summary.version) != folded:
            check.problems.append(
                f"{episode_id}: the derived summary says {summary.state} at version "
                f"{summary.version}, the events fold to {folded[0]} at version {folded[1]}"
            )
    return check

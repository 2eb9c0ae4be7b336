"""`stepdown db rebuild`: every derived table rebuilt from the event store.

Derived (and rebuilt here): `episodes` (the summaries the episode list, its filters and the
trace-number lookup read), `claims` (the claim views) and `worklist_items`. The record, which
this never touches: `episode_events`. Records of their own, neither derived nor rebuilt:
`webhook_inbox`, `audit_log`, `legal_holds`, `episode_purges`.

The rebuild runs in ONE transaction: missing derived tables are created, their rows are
deleted and written again from the folded events, and the commit swaps old for new at once.
Until then, readers keep seeing the old rows (PostgreSQL's MVCC; SQLite's WAL snapshot), so
the API keeps answering from them; projections of new events wait for the commit on
PostgreSQL (row locks) and retry on SQLite (one writer at a time), and are then applied over
the rebuilt rows by their usual version check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.orm import Session

from domain.project import claim_views, summarize
from domain.replay import replay
from domain.views import StoredEvent
from store.data_keys import open_data
from store.phi import PhiCipher
from store.schema import Base, ClaimRow, EpisodeRow, EventRow, WorklistRow
from store.sql import SqlReadModel

# Children first: claims and worklist items refer to their episode.
DERIVED_TABLES = (WorklistRow.__table__, ClaimRow.__table__, EpisodeRow.__table__)

Progress = Callable[[int, int, str], None]


@dataclass
class RebuildReport:
    episodes: int = 0
    events: int = 0
    claims: int = 0
    worklist_items: int = 0
    created_tables: list[str] = field(default_factory=list)
    # Episodes whose events do not fold (run `stepdown events verify`); left out, not guessed.
    failed: dict[str, str] = field(default_factory=dict)


def rebuild(
    engine: Engine, progress: Progress | None = None, cipher: PhiCipher | None = None
) -> RebuildReport:
    """Drops the derived rows (creating missing derived tables) and writes them again."""
    report = RebuildReport()
    writer = SqlReadModel(engine, cipher)
    with engine.begin() as connection:
        existing = set(engine.dialect.get_table_names(connection))
        missing = [t for t in reversed(DERIVED_TABLES) if t.name not in existing]
        Base.metadata.create_all(connection, tables=missing)
        report.created_tables = [t.name for t in missing]
        for table in DERIVED_TABLES:
            connection.execute(delete(table))
        episode_ids = list(
            connection.scalars(select(EventRow.episode_id).distinct().order_by(EventRow.episode_id))
        )
        # Joins the connection's transaction: nothing is committed before the end.
        session = Session(bind=connection)
        for done, episode_id in enumerate(episode_ids, start=1):
            _rebuild_episode(connection, session, writer, episode_id, report)
            if progress is not None:
                progress(done, len(episode_ids), episode_id)
        session.flush()
    return report


def _rebuild_episode(
    connection: Connection,
    session: Session,
    writer: SqlReadModel,
    episode_id: str,
    report: RebuildReport,
) -> None:
    rows = connection.execute(
        select(EventRow.seq, EventRow.type, EventRow.at, EventRow.data)
        .where(EventRow.episode_id == episode_id)
        .order_by(EventRow.seq)
    ).all()
    events = [
        StoredEvent(
            seq=r.seq,
            type=r.type,
            at=r.at,
            data=open_data(connection, writer.cipher, episode_id, r.data),
        )
        for r in rows
    ]
    try:
        state = replay(events)
    except (ValidationError, KeyError, AssertionError, ValueError) as err:
        report.failed[episode_id] = f"{type(err).__name__}: {err}".splitlines()[0]
        return
    if state.opened is None:
        report.failed[episode_id] = "no episode_opened event"
        return
    # "now" is the last event's instant, as in the live projection (workflows/effects.py),
    # so a rebuilt summary is the projected one, updated_at and worklist included.
    summary = summarize(state, events[-1].at)
    claims = claim_views(state)
    writer.write_derived(session, summary, claims)
    session.flush()
    report.episodes += 1
    report.events += len(events)
    report.claims += len(claims)
    report.worklist_items += len(summary.worklist)

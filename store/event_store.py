"""The event store read as the record: chains, legal holds and the retention purge.

`episode_events` is written by the projection (store/sql.py, SqlReadModel.apply), append-only
and hash-chained (store/chain.py). This module reads it back for verification, rebuilds and
exports, and is the only code that may delete from it: `purge`, for an episode whose
retention ran out, never while a legal hold is active (the database triggers check both
the tombstone and the hold, so no other path can delete either).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update

from domain.model import TERMINAL_STATES
from domain.replay import replay
from domain.views import StoredEvent
from store.chain import RecordedEvent
from store.data_keys import open_data
from store.db import session_factory
from store.phi import PhiCipher
from store.schema import (
    ClaimRow,
    EpisodeDataKeyRow,
    EpisodeRow,
    EventRow,
    LegalHoldRow,
    PhiIndexRow,
    PurgeRow,
    SearchKeyRow,
    WorklistRow,
)


class PurgeRefused(ValueError):
    """An episode that may not be purged (held, too young, still open, or unknown)."""


@dataclass(frozen=True)
class LegalHold:
    episode_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None


@dataclass(frozen=True)
class Purged:
    episode_id: str
    events: int
    last_event_at: datetime
    head_hash: str
    purged_at: datetime
    purged_by: str


def add_years(at: datetime, years: int) -> datetime:
    try:
        return at.replace(year=at.year + years)
    except ValueError:  # 29 February in a year that has none: the next day
        return at.replace(year=at.year + years, month=3, day=1)


def stored_event(row: RecordedEvent) -> StoredEvent:
    return StoredEvent(seq=row.seq, type=row.type, at=row.at, data=row.data)


class SqlEventStore:
    def __init__(self, engine: Engine, cipher: PhiCipher | None = None) -> None:
        # Events' PHI is sealed at rest (store/phi.py); the record is read in the clear.
        self._cipher = cipher
        self._sessions = session_factory(engine)

    def episode_ids(self) -> list[str]:
        query = select(EventRow.episode_id).distinct().order_by(EventRow.episode_id)
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def recorded(self, episode_id: str) -> list[RecordedEvent]:
        """The episode's stored events in seq order, exactly as stored."""
        query = select(EventRow).where(EventRow.episode_id == episode_id).order_by(EventRow.seq)
        with self._sessions.begin() as session:
            return [
                RecordedEvent(
                    episode_id=row.episode_id,
                    seq=row.seq,
                    type=row.type,
                    at=row.at,
                    data=open_data(session, self._cipher, episode_id, row.data),
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                )
                for row in session.scalars(query)
            ]

    # -- legal holds ----------------------------------------------------------------------

    def place_hold(self, episode_id: str, reason: str, by: str, at: datetime) -> LegalHold:
        if not reason.strip():
            raise ValueError("a legal hold needs a reason (the matter or request it serves)")
        row = LegalHoldRow(episode_id=episode_id, reason=reason, placed_by=by, placed_at=at)
        with self._sessions.begin() as session:
            session.add(row)
        return _hold(row)

    def release_holds(self, episode_id: str, by: str, at: datetime) -> int:
        """Releases every active hold of the episode; returns how many there were."""
        stmt = (
            update(LegalHoldRow)
            .where(LegalHoldRow.episode_id == episode_id, LegalHoldRow.released_at.is_(None))
            .values(released_at=at, released_by=by)
        )
        with self._sessions.begin() as session:
            return session.execute(stmt).rowcount

    def holds(self, episode_id: str) -> list[LegalHold]:
        query = (
            select(LegalHoldRow)
            .where(LegalHoldRow.episode_id == episode_id)
            .order_by(LegalHoldRow.placed_at, LegalHoldRow.id)
        )
        with self._sessions.begin() as session:
            return [_hold(row) for row in session.scalars(query)]

    # -- retention ------------------------------------------------------------------------

    def purged(self, episode_id: str) -> Purged | None:
        with self._sessions.begin() as session:
            row = session.get(PurgeRow, episode_id)
            return None if row is None else _purged(row)

    def purge(self, episode_id: str, by: str, now: datetime, retention_years: int) -> Purged:
        """Deletes the episode's events once `retention_years` passed since its last one.

        Refused (PurgeRefused, nothing deleted) while a legal hold is active, while the
        episode is still open, or before its retention ran out. Leaves a tombstone with the
        number of events and the chain's head hash, so the purge itself stays on record.
        """
        with self._sessions.begin() as session:
            if session.get(PurgeRow, episode_id) is not None:
                raise PurgeRefused(f"{episode_id} was already purged")
            active = session.scalar(
                select(func.count())
                .select_from(LegalHoldRow)
                .where(LegalHoldRow.episode_id == episode_id, LegalHoldRow.released_at.is_(None))
            )
            if active:
                raise PurgeRefused(f"{episode_id} is under {active} active legal hold(s)")
            rows = session.scalars(
                select(EventRow).where(EventRow.episode_id == episode_id).order_by(EventRow.seq)
            ).all()
            if not rows:
                raise PurgeRefused(f"{episode_id} has no events in the event store")
            last = rows[-1]
            status = replay(
                StoredEvent(
                    seq=r.seq,
                    type=r.type,
                    at=r.at,
                    data=open_data(session, self._cipher, episode_id, r.data),
                )
                for r in rows
            ).status
            if status not in TERMINAL_STATES:
                raise PurgeRefused(f"{episode_id} is still open (state {status})")
            keep_until = add_years(last.at, retention_years)
            if now < keep_until:
                raise PurgeRefused(
                    f"{episode_id} must be kept until {keep_until:%Y-%m-%d} "
                    f"({retention_years} years after its last event, {last.at:%Y-%m-%d})"
                )
            tombstone = PurgeRow(
                episode_id=episode_id,
                purged_at=now,
                purged_by=by,
                events=len(rows),
                last_event_at=last.at,
                head_hash=last.hash,
            )
            session.add(tombstone)
            session.flush()
            # The derived rows go with the record they were derived from, and so does the
            # episode's data key (store/phi.py) and its search digests.
            for table in (
                EventRow,
                ClaimRow,
                WorklistRow,
                EpisodeDataKeyRow,
                SearchKeyRow,
                PhiIndexRow,
            ):
                session.execute(delete(table).where(table.episode_id == episode_id))
            session.execute(delete(EpisodeRow).where(EpisodeRow.episode_id == episode_id))
            return _purged(tombstone)


def _hold(row: LegalHoldRow) -> LegalHold:
    return LegalHold(
        episode_id=row.episode_id,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        released_at=row.released_at,
        released_by=row.released_by,
    )


def _purged(row: PurgeRow) -> Purged:
    return Purged(
        episode_id=row.episode_id,
        events=row.events,
        last_event_at=row.last_event_at,
        head_hash=row.head_hash,
        purged_at=row.purged_at,
        purged_by=row.purged_by,
    )

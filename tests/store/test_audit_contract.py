"""The audit-log contract, run on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta, timezone

from store.ports import AuditEntry, AuditLog
from tests.support.store_factories import T0, new_id


def entry(episode_id: str | None, minutes: int = 0, action: str = "episode.open") -> AuditEntry:
    return AuditEntry(
        actor="token:intake-1",
        role="intake",
        action=action,
        route="POST /episodes",
        episode_id=episode_id,
        outcome="created",
        status_code=201,
        request_id=new_id("req"),
        at=T0 + timedelta(minutes=minutes),
    )


def test_appended_entry_reads_back_every_field(audit_log: AuditLog) -> None:
    written = entry(new_id()).model_copy(update={"at": T0.astimezone(timezone(timedelta(hours=2)))})

    audit_log.append(written)

    assert audit_log.entries() == [written]


def test_entries_are_newest_first_and_limited(audit_log: AuditLog) -> None:
    episode_id = new_id()
    for minutes, action in [(0, "open"), (10, "discharge"), (5, "p2p"), (10, "cancel")]:
        audit_log.append(entry(episode_id, minutes, action))

    newest = [e.action for e in audit_log.entries(limit=3)]

    # Equal instants keep the order they were appended in, later first.
    assert newest == ["cancel", "discharge", "p2p"]


def test_entries_filter_by_episode(audit_log: AuditLog) -> None:
    mine, other = new_id(), new_id()
    audit_log.append(entry(mine, 0))
    audit_log.append(entry(other, 1))
    audit_log.append(entry(None, 2, action="worklist.read"))

    assert [e.episode_id for e in audit_log.entries(mine)] == [mine]
    assert len(audit_log.entries()) == 3

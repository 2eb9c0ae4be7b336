"""Notes on an episode: added by intake and ops, sealed at rest, read back in order, audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from store.notes import NotesUnavailable, SqlNotes
from store.schema import NoteRow
from tests.support.api_client import Api
from tests.support.intake import new_id
from workflows.codec import EncryptionCodec

OLD = b"o" * 32
NEW = b"n" * 32


async def test_notes_are_added_read_back_in_order_and_audited(api: Api) -> None:
    view = await api.open()
    episode_id = view["episode_id"]
    await api.projected(episode_id, view["version"])

    first = await api.call("POST", f"/episodes/{episode_id}/notes", "intake", json={"text": "a"})
    second = await api.call(
        "POST", f"/episodes/{episode_id}/notes", "ops", json={"text": "  <b>called</b> UM  "}
    )
    listed = await api.call("GET", f"/episodes/{episode_id}/notes", "intake")

    assert first.status_code == second.status_code == 201
    assert [(n["text"], n["author"].startswith("token:")) for n in listed.json()] == [
        ("a", True),
        ("<b>called</b> UM", True),
    ]
    entries = await asyncio.to_thread(api.deps.audit_log.entries, episode_id)
    assert [e.action for e in entries][:3] == ["episode.notes", "episode.note", "episode.note"]


async def test_the_text_is_never_stored_in_the_clear(api: Api) -> None:
    view = await api.open()
    await api.projected(view["episode_id"], view["version"])
    secret = f"patient said {new_id('phrase')}"

    await api.call("POST", f"/episodes/{view['episode_id']}/notes", "ops", json={"text": secret})

    with api.stack.engine.connect() as connection:
        stored = connection.scalars(
            select(NoteRow.sealed).where(NoteRow.episode_id == view["episode_id"])
        ).one()
    assert secret.encode() not in stored and b"test-1" in stored  # the key id travels along


@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"text": 1}]
)
async def test_an_empty_or_malformed_note_is_a_422_and_adds_nothing(
    api: Api, body: dict[str, object]
) -> None:
    view = await api.open()
    await api.projected(view["episode_id"], view["version"])

    response = await api.call("POST", f"/episodes/{view['episode_id']}/notes", "ops", json=body)
    listed = await api.call("GET", f"/episodes/{view['episode_id']}/notes", "ops")

    assert response.status_code == 422 and listed.json() == []


async def test_notes_of_an_unknown_episode_are_404(api: Api) -> None:
    missing = new_id()
    added = await api.call("POST", f"/episodes/{missing}/notes", "ops", json={"text": "x"})
    listed = await api.call("GET", f"/episodes/{missing}/notes", "ops")

    assert added.status_code == listed.status_code == 404


def test_notes_sealed_under_an_old_key_read_after_a_rotation(api: Api) -> None:
    episode_id = new_id()
    now = datetime.now(UTC)
    before = SqlNotes(api.stack.engine, EncryptionCodec({"old": OLD}, "old"))
    before.add(episode_id, "user:dana", "Dana", "before the rotation", now)
    after = SqlNotes(api.stack.engine, EncryptionCodec({"old": OLD, "new": NEW}, "new"))
    after.add(episode_id, "user:dana", "Dana", "after it", now)

    assert [n.text for n in after.notes(episode_id)] == ["before the rotation", "after it"]
    with pytest.raises(NotesUnavailable):
        SqlNotes(api.stack.engine, None).notes(episode_id)

"""Notes on an episode: free text kept sealed with the payload keyring (AES-256-GCM, key ids,
rotation as for Temporal payloads), read back by anyone with a key of the ring."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select
from temporalio.api.common.v1 import Payload

from store.db import session_factory
from store.schema import NoteRow
from workflows.codec import EncryptionCodec


class NotesUnavailable(RuntimeError):
    """No payload key is configured, so notes can be neither sealed nor read."""


class Note(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    episode_id: str
    author: str
    author_name: str | None
    at: datetime
    text: str


class SqlNotes:
    def __init__(self, engine: Engine, codec: EncryptionCodec | None) -> None:
        self._sessions = session_factory(engine)
        self._codec = codec

    def _cipher(self) -> EncryptionCodec:
        if self._codec is None:
            raise NotesUnavailable("notes need STEPDOWN_PAYLOAD_KEYS: their text is PHI")
        return self._codec

    def add(
        self, episode_id: str, author: str, author_name: str | None, text: str, now: datetime
    ) -> Note:
        sealed = self._cipher().encrypt(Payload(data=text.encode())).SerializeToString()
        row = NoteRow(
            episode_id=episode_id, author=author, author_name=author_name, at=now, sealed=sealed
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return self._note(row, text)

    def notes(self, episode_id: str) -> list[Note]:
        """Oldest first."""
        codec = self._cipher()
        query = select(NoteRow).where(NoteRow.episode_id == episode_id).order_by(NoteRow.id)
        with self._sessions.begin() as session:
            rows = list(session.scalars(query))
        return [
            self._note(row, codec.decrypt(Payload.FromString(row.sealed)).data.decode())
            for row in rows
        ]

    @staticmethod
    def _note(row: NoteRow, text: str) -> Note:
        return Note(
            id=row.id,
            episode_id=row.episode_id,
            author=row.author,
            author_name=row.author_name,
            at=row.at,
            text=text,
        )

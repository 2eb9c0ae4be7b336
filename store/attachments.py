"""Attachments of an episode: clinical documentation (PDF, PNG, JPEG) recognised by its bytes,
size-limited, name and content sealed with the payload keyring like notes."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select
from temporalio.api.common.v1 import Payload

from store.db import session_factory
from store.notes import NotesUnavailable
from store.schema import AttachmentRow
from workflows.codec import EncryptionCodec

# Within the API's 1 MiB body limit, with room for the multipart envelope.
MAX_BYTES = 900 * 1024
# Only formats that carry no macros or scripts a viewer would run; recognised by their
# first bytes, never by the name or the declared type (no virus scanner stands behind this).
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


class AttachmentRefused(ValueError):
    """Bytes this store does not keep; the message says why, in words."""


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    episode_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploader_name: str | None
    at: datetime


def kind_of(data: bytes) -> str:
    """The content type the bytes are, or AttachmentRefused."""
    if not data:
        raise AttachmentRefused("the file is empty")
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(f"the file is {len(data)} bytes; the limit is {MAX_BYTES}")
    for magic, content_type in SIGNATURES.items():
        if data.startswith(magic):
            return content_type
    raise AttachmentRefused("only PDF, PNG and JPEG files are kept; this file is none of them")


def clean_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    kept = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return kept[:150] or "attachment"


class SqlAttachments:
    def __init__(self, engine: Engine, codec: EncryptionCodec | None) -> None:
        self._sessions = session_factory(engine)
        self._codec = codec

    def _cipher(self) -> EncryptionCodec:
        if self._codec is None:
            raise NotesUnavailable("attachments need STEPDOWN_PAYLOAD_KEYS: they hold PHI")
        return self._codec

    def _seal(self, data: bytes) -> bytes:
        return self._cipher().encrypt(Payload(data=data)).SerializeToString()

    def _open(self, sealed: bytes) -> bytes:
        return bytes(self._cipher().decrypt(Payload.FromString(sealed)).data)

    def add(
        self,
        episode_id: str,
        filename: str,
        data: bytes,
        by: tuple[str, str | None],
        now: datetime,
    ) -> Attachment:
        content_type, name = kind_of(data), clean_name(filename)
        row = AttachmentRow(
            episode_id=episode_id,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=by[0],
            uploader_name=by[1],
            at=now,
            sealed_name=self._seal(name.encode()),
            sealed=self._seal(data),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return self._info(row, name)

    def attachments(self, episode_id: str) -> list[Attachment]:
        query = (
            select(AttachmentRow)
            .where(AttachmentRow.episode_id == episode_id)
            .order_by(AttachmentRow.id)
        )
        with self._sessions.begin() as session:
            rows = list(session.scalars(query))
        return [self._info(r, self._open(r.sealed_name).decode()) for r in rows]

    def content(self, episode_id: str, attachment_id: int) -> tuple[Attachment, bytes] | None:
        query = select(AttachmentRow).where(
            AttachmentRow.episode_id == episode_id, AttachmentRow.id == attachment_id
        )
        with self._sessions.begin() as session:
            row = session.scalar(query)
        if row is None:
            return None
        return self._info(row, self._open(row.sealed_name).decode()), self._open(row.sealed)

    @staticmethod
    def _info(row: AttachmentRow, name: str) -> Attachment:
        return Attachment(
            id=row.id,
            episode_id=row.episode_id,
            filename=name,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            uploaded_by=row.uploaded_by,
            uploader_name=row.uploader_name,
            at=row.at,
        )

"""Attachments: PDF, PNG and JPEG by their bytes, size-limited, sealed at rest, reads audited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from store.attachments import MAX_BYTES, clean_name
from store.schema import AttachmentRow
from tests.support.api_client import Api
from tests.support.intake import new_id

PDF = b"%PDF-1.7\n" + b"clinical summary of the PHP stay " * 20 + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def episode(api: Api) -> str:
    view = await api.open()
    await api.projected(view["episode_id"], view["version"])
    return str(view["episode_id"])


async def upload(
    api: Api,
    episode_id: str,
    name: str,
    data: bytes,
    role: str = "intake",
    kind: str = "application/pdf",
) -> Any:
    files = {"file": (name, data, kind)}
    return await api.call("POST", f"/episodes/{episode_id}/attachments", role, files=files)


async def test_a_pdf_is_attached_listed_fetched_and_every_read_audited(api: Api) -> None:
    episode_id = await episode(api)

    added = await upload(api, episode_id, "../../PHP discharge summary.pdf", PDF)
    listed = await api.call("GET", f"/episodes/{episode_id}/attachments", "ops")
    info = added.json()
    fetched = await api.call("GET", f"/episodes/{episode_id}/attachments/{info['id']}", "ops")

    assert added.status_code == 201, added.text
    assert (info["filename"], info["content_type"], info["size"]) == (
        "PHP discharge summary.pdf",
        "application/pdf",
        len(PDF),
    )
    assert [a["id"] for a in listed.json()] == [info["id"]]
    assert fetched.content == PDF
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["content-disposition"].startswith("attachment;")
    assert fetched.headers["cache-control"] == "no-store"
    entries = await asyncio.to_thread(api.deps.audit_log.entries, episode_id)
    assert [e.action for e in entries][:3] == [
        "episode.attachment",
        "episode.attachments",
        "episode.attach",
    ]


async def test_the_type_comes_from_the_bytes_and_the_bytes_are_sealed(api: Api) -> None:
    episode_id = await episode(api)

    added = await upload(api, episode_id, "scan.pdf", PNG, kind="application/pdf")

    assert added.json()["content_type"] == "image/png"
    with api.stack.engine.connect() as connection:
        row = connection.execute(
            select(AttachmentRow.sealed, AttachmentRow.sealed_name).where(
                AttachmentRow.id == added.json()["id"]
            )
        ).one()
    assert PNG not in row.sealed and b"scan.pdf" not in row.sealed_name


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"MZ\x90\x00 an executable", 415, "unsupported_type"),
        (b"<html><script>alert(1)</script>", 415, "unsupported_type"),
        (b"", 422, "invalid_input"),
        (b"%PDF-" + b"x" * MAX_BYTES, 413, "too_large"),
    ],
)
async def test_other_files_are_refused_and_nothing_is_kept(
    api: Api, data: bytes, status: int, code: str
) -> None:
    episode_id = await episode(api)

    refused = await upload(api, episode_id, "file.pdf", data)
    listed = await api.call("GET", f"/episodes/{episode_id}/attachments", "ops")

    assert refused.status_code == status
    assert refused.json()["code"] == code
    assert listed.json() == []


async def test_unknown_episodes_attachments_and_malformed_uploads_are_refused(api: Api) -> None:
    episode_id = await episode(api)

    unknown_episode = await upload(api, new_id(), "a.pdf", PDF)
    unknown = await api.call("GET", f"/episodes/{episode_id}/attachments/999999", "ops")
    bad_id = await api.call("GET", f"/episodes/{episode_id}/attachments/x", "ops")
    no_file = await api.call("POST", f"/episodes/{episode_id}/attachments", "ops", data={"a": "b"})
    billing = await upload(api, episode_id, "a.pdf", PDF, role="billing")

    assert unknown_episode.status_code == 404 and unknown.status_code == 404
    assert bad_id.status_code == 422 and no_file.status_code == 422
    assert billing.status_code == 403


def test_a_file_name_loses_its_path_and_characters_a_header_cannot_carry() -> None:
    assert clean_name('C:\\scans\\a "b" <c>|d?.pdf') == "a b cd.pdf"
    assert clean_name("/etc/") == "attachment"

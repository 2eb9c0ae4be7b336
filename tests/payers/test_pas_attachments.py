"""Attachments go with a Da Vinci PAS request: each a DocumentReference with its bytes inline,
named by the Claim's supportingInfo (PAS AdditionalInformation), sent to the payer simulator
over real HTTP and kept in the submissions log exactly as sent."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine

from activities.ports import InvalidRequest
from payers.pas_gateway import PasGateway
from store.attachments import SqlAttachments
from tests.payers.test_pas_channel import PROVIDER, Channel, channel, engine, pas_request
from workflows.codec import EncryptionCodec

__all__ = ["channel", "engine"]

PDF = b"%PDF-1.7\n" + b"discharge summary " * 40
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)


def gateway(channel: Channel, store: SqlAttachments | None) -> PasGateway:
    return PasGateway(
        channel.directory, channel.submissions, channel.inbox, PROVIDER, attachments=store
    )


def attachments(engine: Engine) -> SqlAttachments:
    """The channel's database, attachments sealed as the worker seals them."""
    return SqlAttachments(engine, EncryptionCodec({"k1": os.urandom(32)}, "k1"))


async def test_the_sent_bundle_carries_each_attachment_as_a_document_reference(
    channel: Channel, engine: Engine
) -> None:
    channel.register("pas-acme")
    store = attachments(engine)
    request = pas_request()
    now = datetime.now(UTC)
    summary = store.add(request.episode_id, "summary.pdf", PDF, ("user:dana", "Dana"), now)
    scan = store.add(request.episode_id, "scan.png", PNG, ("user:dana", "Dana"), now)
    sent = request.model_copy(
        update={"payload": request.payload | {"attachments": [summary.id, scan.id]}}
    )

    receipt = await gateway(channel, store).submit(sent)

    assert receipt.accepted and channel.app.state.pas.submitted == [request.trace_number]
    [logged] = channel.submissions.for_episode(request.episode_id)
    bundle = Bundle.model_validate_json(logged.payload or "")
    claim = bundle.entry[0].resource
    documents = [
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "DocumentReference"
    ]
    assert [d.content[0].attachment.title for d in documents] == ["summary.pdf", "scan.png"]
    # The bytes, base64 in the JSON as sent (the parsed model holds them decoded).
    raw = [e["resource"] for e in json.loads(logged.payload or "")["entry"]]
    data = [r["content"][0]["attachment"]["data"] for r in raw if "content" in r]
    assert [base64.b64decode(d) for d in data] == [PDF, PNG]
    assert [d.content[0].attachment.contentType for d in documents] == [
        "application/pdf",
        "image/png",
    ]
    additional = [
        info
        for info in claim.supportingInfo
        if info.category.coding[0].code == "additionalInformation"
    ]
    assert [info.valueReference.reference for info in additional] == [
        f"DocumentReference/document-{summary.id}",
        f"DocumentReference/document-{scan.id}",
    ]
    # Numbered after the ASAM facts, one sequence each.
    sequences = [info.sequence for info in claim.supportingInfo]
    assert sequences == list(range(1, len(sequences) + 1))


async def test_a_request_without_attachments_sends_no_document(
    channel: Channel, engine: Engine
) -> None:
    channel.register("pas-acme")
    request = pas_request()

    await gateway(channel, attachments(engine)).submit(request)

    [logged] = channel.submissions.for_episode(request.episode_id)
    assert "DocumentReference" not in (logged.payload or "")


async def test_an_attachment_of_another_episode_is_refused_and_nothing_is_sent(
    channel: Channel, engine: Engine
) -> None:
    channel.register("pas-acme")
    store = attachments(engine)
    other = store.add(
        f"ep-{uuid.uuid4().hex[:8]}", "x.pdf", PDF, ("user:a", None), datetime.now(UTC)
    )
    request = pas_request()
    sent = request.model_copy(update={"payload": request.payload | {"attachments": [other.id]}})

    with pytest.raises(InvalidRequest, match=f"no attachment {other.id}"):
        await gateway(channel, store).submit(sent)
    with pytest.raises(InvalidRequest, match="cannot read attachments"):
        await gateway(channel, None).submit(sent)

    assert channel.app.state.pas.submitted == []
    assert channel.submissions.for_episode(request.episode_id) == []

"""The Da Vinci PAS channel: `Claim/$submit` and `Claim/$inquire` with a SMART bearer token.

The payer's synchronous ClaimResponse is written to the webhook inbox, as a payer's webhook
delivery would be, so it is deduped by delivery id, kept, and applied by the API's
redelivery loop exactly like a webhook decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import httpx

from activities.ports import InvalidRequest, PayerReceipt, PayerRequest
from payers.formats import UnparseableDecision
from payers.formats.pas import parse_pas
from payers.formats.pas_request import (
    Document,
    IncompleteRequest,
    Provider,
    bundle_json,
    inquiry_bundle,
    submit_bundle,
)
from payers.smart import SmartTokenSource, load_signing_key
from store.attachments import Attachment
from store.payers import PayerDirectory, PayerEntry
from store.ports import WebhookInbox
from store.submissions import NewSubmission, Submission, SubmissionLog

FHIR_JSON = "application/fhir+json"


class AttachmentSource(Protocol):
    """Where the gateway reads an episode's attachments (store.attachments.SqlAttachments)."""

    def content(self, episode_id: str, attachment_id: int) -> tuple[Attachment, bytes] | None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class PasGateway:
    # ChannelGateway leaves the submissions log to this gateway: it stores the exact Bundle.
    logs_submissions = True

    def __init__(
        self,
        directory: PayerDirectory,
        submissions: SubmissionLog,
        inbox: WebhookInbox,
        provider: Provider | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = 20.0,
        attachments: AttachmentSource | None = None,
    ) -> None:
        self._attachments = attachments
        self._directory = directory
        self._submissions = submissions
        self._inbox = inbox
        self._provider = provider
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self._tokens: dict[tuple[str, str], SmartTokenSource] = {}

    async def submit(self, request: PayerRequest) -> PayerReceipt:
        return await self._exchange(
            request, request.purpose, "$submit", f"pas:{request.idempotency_key}"
        )

    async def inquire(self, request: PayerRequest, attempt: int) -> PayerReceipt:
        key = f"{request.episode_id}:{request.trace_number}:inquiry:{attempt}"
        _, retried, retry = request.idempotency_key.rpartition(":retry-")
        if retried:
            key = f"{key}:retry-{retry}"
        pended = request.model_copy(update={"idempotency_key": key})
        return await self._exchange(pended, "inquiry", "$inquire", f"pas:{key}")

    async def _exchange(
        self, request: PayerRequest, purpose: str, operation: str, delivery_id: str
    ) -> PayerReceipt:
        entry = await self._entry(request.payer_id)
        documents = await asyncio.to_thread(self._documents, request)
        new = self._new(request, purpose, entry, operation, documents)
        stored, fresh = await asyncio.to_thread(self._submissions.start, new, self._clock())
        if stored.status in ("answered", "failed"):
            return self._repeat(stored)
        if stored.channel != "pas" or stored.payload is None:
            # The payer moved to PAS after this request was recorded on another channel.
            raise InvalidRequest(
                f"request {stored.idempotency_key} was already recorded on the "
                f"{stored.channel} channel; it is not sent again over PAS"
            )
        assert entry.pas is not None
        # The stored bytes go out, so a retry after a crash resends exactly what was logged.
        response = await self._post(entry, f"{entry.pas.base_url.rstrip('/')}/Claim/{operation}",
                                    stored.payload)  # fmt: skip
        if response.status_code >= 500:
            response.raise_for_status()  # the activity retries; the row stays `sending`
        if response.status_code != 200:
            error = f"{operation} answered {response.status_code}{_issues(response)}"
            await asyncio.to_thread(
                self._submissions.finish, stored.idempotency_key, "failed", self._clock(),
                response_status=response.status_code, response=response.text, error=error,
            )  # fmt: skip
            raise InvalidRequest(f"payer {request.payer_id} refused the PAS request: {error}")
        await self._to_inbox(request.payer_id, delivery_id, response.content)
        await asyncio.to_thread(
            self._submissions.finish, stored.idempotency_key, "answered", self._clock(),
            response_status=200, response=response.text,
        )  # fmt: skip
        return PayerReceipt(
            trace_number=request.trace_number,
            accepted=True,
            duplicate=not fresh,
            action=_action(response.content),
        )

    async def _entry(self, payer_id: str) -> PayerEntry:
        entry = await asyncio.to_thread(self._directory.get, payer_id)
        if entry is None or entry.pas is None:
            raise InvalidRequest(
                f"payer {payer_id} has no Da Vinci PAS endpoint in the payer directory; "
                f"set one with PUT /payers/{payer_id}"
            )
        return entry

    def _documents(self, request: PayerRequest) -> list[Document]:
        """The attachments the request names, with their bytes; a missing one is refused."""
        ids = request.payload.get("attachments") or []
        if not ids:
            return []
        if self._attachments is None:
            raise InvalidRequest(
                "this worker cannot read attachments: set STEPDOWN_PAYLOAD_KEYS, which seal them"
            )
        documents = []
        for attachment_id in ids:
            found = self._attachments.content(request.episode_id, int(attachment_id))
            if found is None:
                raise InvalidRequest(
                    f"episode {request.episode_id} has no attachment {attachment_id} to send"
                )
            info, data = found
            documents.append(Document(info.id, info.filename, info.content_type, data, info.at))
        return documents

    def _new(
        self,
        request: PayerRequest,
        purpose: str,
        entry: PayerEntry,
        operation: str,
        documents: list[Document],
    ) -> NewSubmission:
        if self._provider is None:
            raise InvalidRequest(
                "no requesting provider is configured: set STEPDOWN_PROVIDER_NAME and "
                "STEPDOWN_PROVIDER_NPI for Da Vinci PAS requests"
            )
        insurer = entry.display_name or entry.payer_id
        try:
            if operation == "$inquire":
                bundle = inquiry_bundle(request, self._provider, insurer, self._clock())
            else:
                bundle = submit_bundle(request, self._provider, insurer, self._clock(), documents)
        except IncompleteRequest as err:
            raise InvalidRequest(f"cannot build the PAS request: {err}") from None
        return NewSubmission(
            idempotency_key=request.idempotency_key,
            episode_id=request.episode_id,
            payer_id=request.payer_id,
            trace_number=request.trace_number,
            purpose=purpose,
            channel="pas",
            content_type=FHIR_JSON,
            payload=bundle_json(bundle),
        )

    async def _post(self, entry: PayerEntry, url: str, payload: str) -> httpx.Response:
        tokens = self._token_source(entry)
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            for _ in range(2):
                headers = {
                    "Authorization": f"Bearer {await tokens.token()}",
                    "Content-Type": FHIR_JSON,
                    "Accept": FHIR_JSON,
                }
                response = await client.post(url, content=payload.encode(), headers=headers)
                if response.status_code != 401:
                    break
                tokens.forget()  # revoked or expired early: one fresh token, then give up
        return response

    def _token_source(self, entry: PayerEntry) -> SmartTokenSource:
        assert entry.pas is not None
        # One source per payer and endpoint settings: an admin's change starts a new one.
        key = (entry.payer_id, entry.pas.model_dump_json())
        if key not in self._tokens:
            signing = load_signing_key(entry.pas.private_key, entry.pas.algorithm)
            self._tokens[key] = SmartTokenSource(entry.pas, signing, transport=self._transport)
        return self._tokens[key]

    async def _to_inbox(self, payer_id: str, delivery_id: str, body: bytes) -> None:
        headers = {"content-type": FHIR_JSON, "stepdown-channel": "pas"}
        entry, _ = await asyncio.to_thread(
            self._inbox.receive, delivery_id, payer_id, FHIR_JSON, headers, body, self._clock()
        )
        if entry.status == "received":
            # Queued: the redelivery loop applies it on its next round (a `received` row is
            # left alone for a while, as a webhook request may still be answering it).
            await asyncio.to_thread(self._inbox.mark, delivery_id, "queued")

    def _repeat(self, stored: Submission) -> PayerReceipt:
        if stored.status == "failed":
            raise InvalidRequest(stored.error or "the payer refused this request before")
        answer = stored.response.encode() if stored.response else b""
        return PayerReceipt(
            trace_number=stored.trace_number, accepted=True, duplicate=True, action=_action(answer)
        )


def _issues(response: httpx.Response) -> str:
    """The OperationOutcome's issue codes only: its text may echo PHI, and this message
    travels into Temporal and the worklist (the whole answer is kept in the submissions log)."""
    try:
        issues = response.json().get("issue") or []
        codes = [str(issue.get("code")) for issue in issues if isinstance(issue, dict)]
    except (ValueError, AttributeError):
        return ""
    return f" (OperationOutcome issues: {', '.join(codes)})" if codes else ""


def _action(body: bytes) -> str | None:
    try:
        return parse_pas(body).action
    except UnparseableDecision:
        return None  # the inbox keeps it and records why, as for any webhook body

"""The inbox redelivery loop: queued payer decisions go to the workflows once Temporal is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from functools import partial

from api.deps import ApiDeps, blocking
from api.episode_calls import EpisodeCalls
from api.inbox import Answer, DeliveryProcessor
from api.problems import traceback_only
from store.ports import AuditEntry, InboxEntry

log = logging.getLogger("stepdown.api.redelivery")


class Redelivery:
    """Each round sends every pending delivery again under its delivery id (so at most once).

    `received` entries younger than `grace` are left to the request still answering them.
    Several API replicas may run this loop at once: Temporal's update id and the episode's
    own delivery-id check keep a decision from being applied twice.
    """

    def __init__(
        self,
        deps: ApiDeps,
        timeout: float,
        grace: timedelta,
        signature_ttl: timedelta | None = None,
    ) -> None:
        self._deps = deps
        self._timeout = timeout
        self._grace = grace
        # Seen signatures are kept this long (at least the signature tolerance, see app.py).
        self._signature_ttl = signature_ttl

    async def run_once(self) -> int:
        """One pass over the inbox; returns how many deliveries reached a final status.

        Unmatched deliveries whose episode has become known since (a route was recorded)
        are applied too: an unmatched answer is never final.
        """
        deps = self._deps
        pending = await blocking(deps.inbox.due_for_redelivery)
        recoverable = await blocking(deps.read_model.recoverable_deliveries)
        calls = EpisodeCalls(deps.episodes, self._timeout, metrics=deps.metrics)
        settled = 0
        for entry in [*pending, *recoverable]:
            if self._in_flight(entry):
                continue
            # Each outcome is audited with the inbox row it settles, in one transaction.
            processor = DeliveryProcessor(deps, calls, partial(self._audit_entry, entry))
            answer = await processor.process(entry)
            deps.metrics.inc("stepdown_webhook_redeliveries_total", status=answer.outcome)
            if answer.outcome == "queued":
                break  # Temporal is still away; the rest wait for the next round
            if answer.outcome in ("rejected", "unmatched"):
                _report(entry, answer)
            settled += 1
        await self._forget_old_signatures()
        return settled

    def _audit_entry(self, entry: InboxEntry, answer: Answer) -> AuditEntry | None:
        """The loop changes episodes too: each outcome is audited as the payer's change."""
        if answer.outcome in ("queued", "unmatched"):
            return None  # nothing changed; the attempt is counted on the inbox row
        return AuditEntry(
            actor=f"payer:{entry.payer_id}",
            role="payer",
            action="webhook.redelivery",
            route="redelivery loop",
            episode_id=answer.episode_id,
            outcome=answer.outcome,
            status_code=answer.status_code,
            request_id=f"redelivery:{entry.delivery_id}"[:80],
            at=self._deps.clock(),
        )

    async def _forget_old_signatures(self) -> None:
        if self._signature_ttl is not None:
            before = self._deps.clock() - self._signature_ttl
            await blocking(self._deps.inbox.forget_signatures, before)

    def _in_flight(self, entry: InboxEntry) -> bool:
        return entry.status == "received" and self._deps.clock() - entry.received_at < self._grace

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                settled = await self.run_once()
                if settled:
                    log.info("redelivered %d webhook deliveries", settled)
            except Exception as err:
                # The database or Temporal failing must not end the loop; the next round retries.
                log.error("webhook redelivery round failed: %s", traceback_only(err))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def _report(entry: InboxEntry, answer: Answer) -> None:
    # The payer already heard `queued`; the inbox row keeps the reason (no body text here).
    code = answer.body.get("code")
    log.warning("queued delivery %s ended %s (%s)", entry.delivery_id, answer.outcome, code)

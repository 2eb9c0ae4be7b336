"""The claims outbox port over SQL: the deliver_claim activity makes sure a claim is queued."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from activities.ports import OutboundClaim
from domain.model import Claim
from store.sql_claims import SqlClaimBatches

log = logging.getLogger("stepdown.claims")


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlClaimsOutbox:
    """`deliver` is idempotent on (episode_id, claim_id) and never changes a queued claim.

    The projection already wrote the claim's outbox row in the transaction that stored its
    `claim_released` event, so normally this finds the row and returns; it writes one only
    for a claim projected before the outbox existed.
    """

    def __init__(self, batches: SqlClaimBatches, clock: Callable[[], datetime] = utc_now) -> None:
        self._batches = batches
        self._clock = clock

    async def deliver(self, claim: OutboundClaim) -> None:
        if claim.resend:
            # A retry after the clearinghouse rejected the claim's batch (999/TA1).
            requeued = await asyncio.to_thread(
                self._batches.requeue_rejected, claim.episode_id, claim.claim_id, self._clock()
            )
            if requeued:
                log.info("claim %s queued again after its batch was rejected", claim.claim_id)
        built = Claim.model_validate(claim.claim)
        added = await asyncio.to_thread(
            self._batches.ensure_queued, claim.episode_id, claim.claim_id, built, self._clock()
        )
        if added:
            log.warning("claim %s was not in the outbox; queued it now", claim.claim_id)

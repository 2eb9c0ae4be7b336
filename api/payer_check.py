"""Intake's check against the payer directory: an episode is opened only for a known payer."""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError

from api.deps import ApiDeps, blocking
from domain.model import Payer

log = logging.getLogger("stepdown.api")


async def payer_problems(deps: ApiDeps, payer: Payer) -> list[tuple[str, str]]:
    """(field, sentence) for each way `payer` disagrees with the directory; empty when known.

    When the database is unreachable the check is skipped, not failed: intake needs only
    Temporal (the episode is the source of truth), and the worker's channel gateway refuses
    a payer the directory does not know when it submits the request.
    """
    try:
        entry = await blocking(deps.directory().get, payer.id)
    except (OperationalError, InterfaceError):
        log.warning("payer directory unreachable: intake for payer %s not checked", payer.id)
        return []
    if entry is None:
        return [
            (
                "payer.id",
                f"payer.id: {payer.id!r} is not in the payer directory; an admin registers it "
                f"with PUT /payers/{payer.id} (or `stepdown payers set {payer.id}`)",
            )
        ]
    if entry.plan_type != payer.plan_type:
        return [
            (
                "payer.plan_type",
                f"payer.plan_type: payer {payer.id} is registered as {entry.plan_type!r}, "
                f"not {payer.plan_type!r}",
            )
        ]
    return []

"""The audit trail: who changed which episode (or read its decoded history), and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.types import Scope

from store.ports import AuditEntry

# Reads that reveal PHI are audited too, by whom (HIPAA 164.312(b)): the episode (API and
# console page), its events, the history with decoded workflow payloads, and a claim batch's
# 837I (it names each patient, birth date and member id).
AUDITED_READS = frozenset(
    {
        "episode.view",
        "episode.events",
        "episode.history",
        "episode.notes",
        "episode.attachments",
        "episode.attachment",
        "console.episode",
        "console.attachment",
        "claims.batch_x12",
    }
)
OUTCOME_OF_STATUS = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "conflict"}


def audit_entry(scope: Scope, status: int, at: datetime) -> AuditEntry | None:
    """The entry for this request, or None when it changed nothing or nobody was identified."""
    route = scope.get("route")
    name = getattr(route, "name", None)
    method = scope["method"]
    if route is None or (method in ("GET", "HEAD", "OPTIONS") and name not in AUDITED_READS):
        return None
    state: dict[str, Any] = scope.get("state", {})
    actor = _actor(state)
    if actor is None:
        return None  # never authenticated: the security log has the attempt
    user = state.get("user")
    episode_id = state.get("episode_id") or scope.get("path_params", {}).get("episode_id")
    return AuditEntry(
        actor=actor[0],
        role=actor[1],
        action=str(state.get("action") or name or "unnamed")[:80],
        route=f"{method} {route.path}",
        episode_id=str(episode_id)[:80] if episode_id else None,
        outcome=str(state.get("outcome") or _outcome(status))[:80],
        status_code=status,
        request_id=state.get("request_id", ""),
        at=at,
        user_id=getattr(user, "user_id", None),
        actor_name=getattr(user, "name", None),
    )


def _actor(state: dict[str, Any]) -> tuple[str, str] | None:
    user = state.get("user")
    if user is not None:
        return user.actor, user.role
    payer_id = state.get("payer_id")
    return (f"payer:{payer_id}", "payer") if payer_id else None


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return OUTCOME_OF_STATUS.get(status, "invalid" if status < 500 else "error")

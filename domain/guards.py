"""Shared checks for the decider: is the episode open, in an allowed state, and so on."""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import Rejected
from domain.model import TERMINAL_STATES
from domain.state import Episode


def require_open(state: Episode) -> None:
    if not state.is_open:
        raise Rejected("not_found", "the episode has not been opened")


def require_active(state: Episode) -> None:
    require_open(state)
    if state.status in TERMINAL_STATES:
        raise Rejected("invalid_state", f"the episode is {state.status}; nothing more can change")


def require_state(state: Episode, allowed: Iterable[str], action: str) -> None:
    require_active(state)
    allowed = tuple(allowed)
    if state.status not in allowed:
        raise Rejected(
            "invalid_state",
            f"cannot {action} while the episode is {state.status}; "
            f"allowed in: {', '.join(allowed)}",
        )

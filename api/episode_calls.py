"""The API's calls to the episode workflows (`EpisodeCalls`): every call bounded in time,
failures typed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from api.metrics import Metrics
from api.problems import ApiProblem, rejected_problem, status_for
from domain import commands as c
from domain.errors import Rejected
from domain.model import TERMINAL_STATES, Actor
from domain.views import EpisodeView
from workflows.client import EpisodeClient, WorkflowServiceUnavailable
from workflows.history import HistoryEntry

T = TypeVar("T")
# What a lazily connected Temporal client raises when its first connection fails.
CONNECT_FAILURE = "Failed client connect"


def stamped(arg: Any, actor: Actor | None) -> Any:
    """`arg` naming `actor` when it carries one (a person's command); other args as they are.

    Whatever a body said about the actor is replaced: only the signed-in caller acts.
    """
    if isinstance(arg, BaseModel) and "actor" in type(arg).model_fields:
        return arg.model_copy(update={"actor": actor})
    return arg


def no_actor() -> Actor | None:
    return None


def _update_name(update: Any) -> str:
    """The workflow's name for an update method (`EpisodeWorkflow.decide` → `decide`)."""
    definition = getattr(update, "__temporal_update_definition", None)
    name = getattr(definition, "name", None)
    return name or getattr(update, "__name__", str(update))


class EpisodeCalls:
    def __init__(
        self,
        client: EpisodeClient,
        timeout: float,
        actor: Callable[[], Actor | None] = no_actor,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._timeout = timeout
        # Asked at each call: the caller is known once the route's auth dependency ran.
        self._actor = actor

    @property
    def client(self) -> EpisodeClient:
        return self._client

    async def open(self, command: c.OpenEpisode) -> tuple[EpisodeView, bool]:
        return await self._call(self._client.open(stamped(command, self._actor())))

    async def view(self, episode_id: str) -> EpisodeView:
        return await self._call(self._client.view(episode_id))

    async def history(self, episode_id: str) -> list[HistoryEntry]:
        return await self._call(self._client.history(episode_id))

    async def update(
        self, episode_id: str, update: Any, arg: Any, *, update_id: str | None = None
    ) -> Any:
        """Raises Rejected as the workflow refused, or WorkflowServiceUnavailable."""
        try:
            arg = stamped(arg, self._actor())
            call = self._client.update(episode_id, update, arg, update_id=update_id)
            if self._metrics is None:
                return await self._call(call)
            with self._metrics.update_timer(_update_name(update)):
                return await self._call(call)
        except Rejected as err:
            if err.code != "not_found":
                raise
            # Temporal says NOT_FOUND also for an update its closing workflow aborted.
            finished = await self._state(episode_id)
            if finished not in TERMINAL_STATES:
                raise
            detail = f"the episode is {finished}; it accepts no more changes"
            raise Rejected("invalid_state", detail) from None

    async def act(
        self, episode_id: str, update: Any, arg: Any, *, update_id: str | None = None
    ) -> Any:
        """An update for a person: a refusal because of the state says which state it is."""
        try:
            return await self.update(episode_id, update, arg, update_id=update_id)
        except Rejected as err:
            if status_for(err.code) != 409:
                raise
            raise await self._state_problem(episode_id, err) from None

    async def _state(self, episode_id: str) -> str | None:
        try:
            return (await self.view(episode_id)).state
        except (Rejected, WorkflowServiceUnavailable):
            return None

    async def _state_problem(self, episode_id: str, err: Rejected) -> ApiProblem:
        state = await self._state(episode_id)
        problem = rejected_problem(err, state=state)
        if state and state not in problem.detail:
            problem.detail += f" (the episode is {state})"
        return problem

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # An update our timeout cancelled reports itself as the client's own error.
            raise WorkflowServiceUnavailable(f"no answer within {self._timeout:g} s") from None
        except RuntimeError as err:
            if str(err).startswith(CONNECT_FAILURE):
                raise WorkflowServiceUnavailable(str(err)) from None
            raise

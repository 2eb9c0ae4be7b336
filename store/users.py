"""The identity store's port: people, their personal tokens and their console sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class UserExists(ValueError):
    """A username that is already taken."""


class UserRecord(BaseModel):
    """One person as stored; `password_hash` is argon2's encoded hash, never the password."""

    model_config = ConfigDict(frozen=True)

    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool
    password_hash: str | None = None
    password_expired: bool = False
    created_at: datetime
    updated_at: datetime


class SessionRecord(BaseModel):
    """A console session as stored: its owner (None for a role-token session) and its times."""

    model_config = ConfigDict(frozen=True)

    id_hash: str
    user: UserRecord | None
    token_hash: str | None
    actor: str
    role: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


class UserStore(Protocol):
    def add(
        self,
        username: str,
        display_name: str,
        roles: list[str],
        password_hash: str | None,
        now: datetime,
        password_expired: bool = False,
    ) -> UserRecord:
        """A new active user; UserExists when the username is taken."""
        ...

    def by_username(self, username: str) -> UserRecord | None: ...

    def set_password(
        self, user_id: int, password_hash: str, now: datetime, expired: bool = False
    ) -> None: ...

    def set_active(self, user_id: int, now: datetime) -> None:
        """Active again; tokens and sessions revoked by a disable stay revoked."""
        ...

    def set_roles(self, user_id: int, roles: list[str], display_name: str, now: datetime) -> None:
        """The roles and name the organization's identity provider gives the person now."""
        ...

    def add_token(self, user_id: int, token_hash: str, now: datetime) -> None: ...

    def user_for_token(self, token_hash: str) -> UserRecord | None:
        """The active user a live (not revoked) personal token belongs to."""
        ...

    def disable(self, username: str, now: datetime) -> UserRecord | None:
        """Inactive, every token and session revoked in one transaction; None if unknown."""
        ...

    def open_session(
        self,
        id_hash: str,
        user_id: int | None,
        token_hash: str | None,
        actor: str,
        role: str,
        now: datetime,
    ) -> None: ...

    def session(self, id_hash: str) -> SessionRecord | None: ...

    def touch_session(self, id_hash: str, now: datetime) -> None: ...

    def revoke_session(self, id_hash: str, now: datetime) -> None: ...

    def users(self) -> list[UserRecord]:
        """Everyone, by username (the console's list of people to assign work to)."""
        ...

    def assign(self, episode_id: str, user_id: int | None, by: str, now: datetime) -> None:
        """`user_id` owns the episode from now on; None: nobody does."""
        ...

    def owners(self, episode_ids: Sequence[str]) -> dict[str, UserRecord]:
        """The owner of each of these episodes that has one."""
        ...

    def owned_by(self, user_id: int) -> list[str]:
        """The episodes `user_id` owns."""
        ...

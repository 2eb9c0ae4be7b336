"""Passwords (argon2id via argon2-cffi), personal tokens and session ids: made and checked."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from settings import hash_token
from store.users import UserRecord, UserStore

# argon2-cffi's defaults follow RFC 9106's second recommended option (argon2id, 64 MiB).
HASHER = PasswordHasher()
# Verified against when the username is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,39}")
TOKEN_PREFIX = "sdp_"
MIN_PASSWORD_LENGTH = 12


def new_password() -> str:
    """A one-time password to hand a new user: 20 URL-safe characters, ~120 bits."""
    return secrets.token_urlsafe(15)


def new_token() -> str:
    """A personal API token; the prefix lets secret scanners recognise a leaked one."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> str:
    """What the session table keeps: a database reader cannot replay a cookie from it."""
    return "sha256:" + hashlib.sha256(session_id.encode()).hexdigest()


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(user: UserRecord | None, password: str) -> bool:
    """Whether `password` is `user`'s; an unknown or inactive user costs a full verify too."""
    encoded = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and user.active and user.password_hash is not None


def rehash_if_needed(users: UserStore, user: UserRecord, password: str, now: datetime) -> None:
    """argon2's parameters grow over time; a sign-in is the moment to upgrade a stored hash."""
    if user.password_hash and HASHER.check_needs_rehash(user.password_hash):
        users.set_password(user.id, hash_password(password), now, user.password_expired)


def issue_token(users: UserStore, user: UserRecord, now: datetime) -> str:
    """A new personal token for `user`, stored as its SHA-256 only; returned once."""
    token = new_token()
    users.add_token(user.id, hash_token(token), now)
    return token

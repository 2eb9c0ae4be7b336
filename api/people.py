"""Managing people: add one (with a one-time password), issue a personal token, disable one.

Used by `stepdown users …` (straight on the database: the first admin must exist before
anyone can sign in) and by the dev stack, which seeds one dev user per role.
"""

from __future__ import annotations

from datetime import datetime

from api.identity import USERNAME, hash_password, issue_token, new_password
from settings import DEV_TOKENS, ROLES
from store.users import UserExists, UserRecord, UserStore

MAX_NAME = 200


class PeopleError(ValueError):
    """A request about people that cannot be carried out; the message says why."""


def check_new_user(username: str, roles: list[str], display_name: str) -> None:
    problems = []
    if not USERNAME.fullmatch(username):
        problems.append(
            f"username {username!r}: use 2-40 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    unknown = [role for role in roles if role not in ROLES]
    if not roles or unknown:
        problems.append(f"roles {unknown or roles}: use one or more of {', '.join(ROLES)}")
    if not display_name.strip() or len(display_name) > MAX_NAME:
        problems.append(f"name: give the person's name, at most {MAX_NAME} characters")
    if problems:
        raise PeopleError("; ".join(problems))


def add_user(
    users: UserStore, username: str, roles: list[str], display_name: str | None, now: datetime
) -> tuple[UserRecord, str]:
    """A new active user and their one-time password (shown once, stored as argon2id)."""
    name = display_name if display_name is not None else username
    roles = list(dict.fromkeys(roles))
    check_new_user(username, roles, name)
    password = new_password()
    try:
        hashed = hash_password(password)
        record = users.add(username, name.strip(), roles, hashed, now, password_expired=True)
    except UserExists as err:
        raise PeopleError(str(err)) from None
    return record, password


def _known(users: UserStore, username: str) -> UserRecord:
    record = users.by_username(username)
    if record is None:
        raise PeopleError(f"there is no user {username!r}")
    return record


def issue_personal_token(users: UserStore, username: str, now: datetime) -> str:
    record = _known(users, username)
    if not record.active:
        raise PeopleError(f"{username!r} is disabled; a disabled user gets no token")
    return issue_token(users, record, now)


def disable_user(users: UserStore, username: str, now: datetime) -> UserRecord:
    """Inactive at once: every console session and personal token revoked with it."""
    record = users.disable(username, now)
    if record is None:
        raise PeopleError(f"there is no user {username!r}")
    return record


def seed_dev_users(users: UserStore, now: datetime) -> dict[str, str]:
    """One dev user per role (`intake`, `billing`, `ops`, `admin`), each with a fresh password.

    The passwords change on every start of the dev stack and are printed there; the dev
    tokens (`dev-ops` …) stand for these users (api.auth.user_for_token).
    """
    passwords = {}
    for role in DEV_TOKENS.values():
        password = new_password()
        record = users.by_username(role)
        if record is None:
            users.add(role, f"Dev {role}", [role], hash_password(password), now)
        else:
            users.set_password(record.id, hash_password(password), now)
            if not record.active:
                users.set_active(record.id, now)
        passwords[role] = password
    return passwords

"""The identity store on SQLite and PostgreSQL: people, personal tokens, console sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from store.sql_users import SqlUserStore
from store.users import UserExists

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def users(database_engine: Engine) -> SqlUserStore:
    return SqlUserStore(database_engine)


def test_a_user_is_stored_once_per_username(users: SqlUserStore) -> None:
    added = users.add("dana", "Dana Ortiz", ["ops", "intake"], "argon2-hash", NOW)

    with pytest.raises(UserExists, match="'dana' is taken"):
        users.add("dana", "Another Dana", ["ops"], None, NOW)
    found = users.by_username("dana")

    assert found == added
    assert found is not None
    assert (found.display_name, found.roles) == ("Dana Ortiz", ["ops", "intake"])
    assert found.active
    assert users.by_username("nobody") is None


def test_a_personal_token_finds_its_active_user_until_disabled(users: SqlUserStore) -> None:
    dana = users.add("dana", "Dana Ortiz", ["ops"], None, NOW)
    users.add_token(dana.id, "sha256:" + "a" * 64, NOW)
    users.add_token(dana.id, "sha256:" + "b" * 64, NOW)
    users.open_session("sha256:" + "c" * 64, dana.id, None, "user:dana", "ops", NOW)

    before = users.user_for_token("sha256:" + "b" * 64)
    disabled = users.disable("dana", NOW + timedelta(minutes=1))

    assert before is not None and before.username == "dana"
    assert disabled is not None and not disabled.active
    assert users.user_for_token("sha256:" + "a" * 64) is None
    assert users.user_for_token("sha256:" + "b" * 64) is None
    session = users.session("sha256:" + "c" * 64)
    assert session is not None and session.revoked_at == NOW + timedelta(minutes=1)
    assert users.disable("nobody", NOW) is None


def test_enabling_again_does_not_bring_back_revoked_tokens(users: SqlUserStore) -> None:
    dana = users.add("dana", "Dana Ortiz", ["ops"], None, NOW)
    users.add_token(dana.id, "sha256:" + "a" * 64, NOW)
    users.disable("dana", NOW)

    users.set_active(dana.id, NOW)

    assert users.by_username("dana").active  # type: ignore[union-attr]
    assert users.user_for_token("sha256:" + "a" * 64) is None


def test_a_session_is_kept_by_hash_touched_and_revoked(users: SqlUserStore) -> None:
    dana = users.add("dana", "Dana Ortiz", ["ops"], None, NOW)
    users.open_session("sha256:" + "1" * 64, dana.id, None, "user:dana", "ops", NOW)
    users.open_session("sha256:" + "2" * 64, None, "sha256:" + "3" * 64, "token:abc", "ops", NOW)

    users.touch_session("sha256:" + "1" * 64, NOW + timedelta(minutes=5))
    users.revoke_session("sha256:" + "2" * 64, NOW + timedelta(minutes=6))
    personal = users.session("sha256:" + "1" * 64)
    role_token = users.session("sha256:" + "2" * 64)

    assert personal is not None and personal.user is not None
    assert personal.user.username == "dana"
    assert personal.last_seen_at == NOW + timedelta(minutes=5) and personal.revoked_at is None
    assert role_token is not None and role_token.user is None
    assert role_token.token_hash == "sha256:" + "3" * 64
    assert role_token.revoked_at == NOW + timedelta(minutes=6)
    assert users.session("sha256:" + "9" * 64) is None


def test_a_password_hash_is_replaced(users: SqlUserStore) -> None:
    dana = users.add("dana", "Dana Ortiz", ["ops"], "old", NOW)

    users.set_password(dana.id, "new", NOW + timedelta(days=1))

    assert users.by_username("dana").password_hash == "new"  # type: ignore[union-attr]


def test_an_episode_has_at_most_one_owner(users: SqlUserStore) -> None:
    dana = users.add("dana", "Dana Ortiz", ["ops"], None, NOW)
    ivy = users.add("ivy", "Ivy Lee", ["intake"], None, NOW)

    users.assign("ep-1", dana.id, "user:admin", NOW)
    users.assign("ep-2", dana.id, "user:admin", NOW)
    users.assign("ep-1", ivy.id, "user:dana", NOW)  # reassigned
    users.assign("ep-2", None, "user:dana", NOW)  # unassigned
    users.assign("ep-3", ivy.id, "user:dana", NOW)

    assert {k: v.username for k, v in users.owners(["ep-1", "ep-2", "ep-3"]).items()} == {
        "ep-1": "ivy",
        "ep-3": "ivy",
    }
    assert users.owned_by(ivy.id) == ["ep-1", "ep-3"] and users.owned_by(dana.id) == []
    assert users.owners([]) == {}
    assert [u.username for u in users.users()] == ["dana", "ivy"]


def test_roles_and_name_are_replaced_as_the_identity_provider_says(users: SqlUserStore) -> None:
    added = users.add("sam", "sam", ["ops"], None, NOW)
    other = users.add("kim", "Kim", ["intake"], None, NOW)

    users.set_roles(added.id, ["intake", "billing"], "Sam Single", NOW + timedelta(hours=1))

    found, untouched = users.by_username("sam"), users.by_username("kim")
    assert found is not None and untouched is not None
    assert (found.roles, found.display_name) == (["intake", "billing"], "Sam Single")
    assert found.updated_at == NOW + timedelta(hours=1)
    assert untouched == other

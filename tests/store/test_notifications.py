"""Staff notifications on SQLite and PostgreSQL: stored once per (episode, key, role), read
per role, and emailed through a real SMTP server (aiosmtpd) with no PHI in the email."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from activities.notifier import Routing, SmtpMailer, SqlSmtpNotifier
from activities.ports import Notification
from devstack.mailsink import MailSink
from store.sql_notifications import SqlNotifications
from tests.support.db import database_engine, database_url
from tests.support.procs import free_port
from tests.support.store_factories import new_id

__all__ = ["database_engine", "database_url"]
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PHI = "patient Jane Roe, member MCD123456, denied for F33.1"
ROUTING = Routing(
    addresses={"ops": ["ur@clinic.test"], "intake": ["intake@clinic.test"],
               "billing": ["billing@clinic.test"], "claims_held": ["biller-lead@clinic.test"]}
)  # fmt: skip


@pytest.fixture
def store(database_engine: Engine) -> SqlNotifications:
    return SqlNotifications(database_engine)


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


def mailer(sink: MailSink) -> SmtpMailer:
    port = sink._controller.port
    return SmtpMailer("127.0.0.1", port, "stepdown@clinic.test", start_tls=False)


def notifier(store: SqlNotifications, sink: MailSink | None) -> SqlSmtpNotifier:
    return SqlSmtpNotifier(
        store, mailer(sink) if sink else None, ROUTING, "https://stepdown.clinic.test",
        clock=lambda: AT,
    )  # fmt: skip


def denial(episode_id: str, key: str = "7") -> Notification:
    return Notification(episode_id=episode_id, kind="denied", detail=PHI, key=key)


async def test_a_notification_is_stored_for_each_role_of_its_kind(store):
    episode = new_id()
    await notifier(store, None).notify(denial(episode))

    ops, intake, billing = (store.for_role(r) for r in ("ops", "intake", "billing"))

    assert [(n.episode_id, n.kind, n.detail) for n in ops] == [(episode, "denied", PHI)]
    assert [n.episode_id for n in intake] == [episode]
    assert episode not in [n.episode_id for n in billing]


async def test_the_same_notification_again_stores_and_sends_nothing_more(store, sink):
    episode = new_id()
    notify = notifier(store, sink)

    await notify.notify(denial(episode))
    await notify.notify(denial(episode))

    assert len([n for n in store.for_role("ops") if n.episode_id == episode]) == 1
    assert len(sink.received) == 1


async def test_the_email_goes_to_the_roles_addresses_with_a_link_and_no_phi(store, sink):
    episode = new_id()
    await notifier(store, sink).notify(denial(episode))

    [mail] = sink.received
    assert set(mail.recipients) == {"ur@clinic.test", "intake@clinic.test"}
    assert f"https://stepdown.clinic.test/console/episodes/{episode}" in mail.body
    assert "denied" in mail.subject.lower()
    raw = mail.raw.decode()
    for fragment in ("Jane", "Roe", "MCD123456", "F33.1", PHI):
        assert fragment not in raw


async def test_a_kinds_own_addresses_replace_its_roles_addresses(store, sink):
    held = Notification(episode_id=new_id(), kind="claims_held", detail="claim C-1 held", key="9")
    await notifier(store, sink).notify(held)

    assert [m.recipients for m in sink.received] == [("biller-lead@clinic.test",)]


async def test_a_failed_email_raises_and_the_retry_sends_it_once(store, sink):
    episode = new_id()
    down = SqlSmtpNotifier(
        store, SmtpMailer("127.0.0.1", free_port(), "x@clinic.test", start_tls=False, timeout=2),
        ROUTING, "https://stepdown.clinic.test", clock=lambda: AT,
    )  # fmt: skip

    with pytest.raises(OSError):
        await down.notify(denial(episode))
    await notifier(store, sink).notify(denial(episode))
    await notifier(store, sink).notify(denial(episode))

    assert len(sink.received) == 1
    assert [n.emailed_at for n in store.for_role("ops") if n.episode_id == episode] == [AT]


async def test_without_a_key_the_same_kind_and_detail_is_one_notification(store):
    episode = new_id()
    unkeyed = Notification(episode_id=episode, kind="payer_notice", detail="A6: call us")
    await notifier(store, None).notify(unkeyed)
    await notifier(store, None).notify(unkeyed)

    assert len([n for n in store.for_role("ops") if n.episode_id == episode]) == 1


def test_marking_read_is_per_role_and_admin_sees_every_role(store):
    episode = new_id()
    store.store(episode, "1", "denied", "d", ["ops", "intake"], AT)
    [ops] = [n for n in store.for_role("ops") if n.episode_id == episode]

    assert store.mark_read(ops.id, "billing", "token:b", AT) is False  # not billing's
    assert store.mark_read(ops.id, "ops", "token:o", AT) is True
    assert store.mark_read(ops.id, "ops", "token:o", AT) is False  # read already

    assert episode not in [n.episode_id for n in store.for_role("ops")]
    assert episode in [n.episode_id for n in store.for_role("intake")]
    assert [n.role for n in store.for_role("admin") if n.episode_id == episode] == ["intake"]
    read = [n for n in store.for_role("ops", unread_only=False) if n.episode_id == episode]
    assert (read[0].read_at, read[0].read_by) == (AT, "token:o")


def test_mark_all_read_touches_only_the_role(store):
    first, second = new_id(), new_id()
    store.store(first, "1", "denied", "d", ["ops"], AT)
    store.store(second, "1", "claims_held", "h", ["billing"], AT + timedelta(minutes=1))

    store.mark_all_read("ops", "token:o", AT)

    assert store.for_role("ops") == []
    assert [n.episode_id for n in store.for_role("billing")] == [second]


def test_newest_first(store):
    episode = new_id()
    for minute in range(3):
        store.store(episode, str(minute), "denied", "d", ["ops"], AT + timedelta(minutes=minute))

    assert [n.key for n in store.for_role("ops")] == ["2", "1", "0"]


async def test_the_notifier_can_run_notifications_concurrently(store, sink):
    episodes = [new_id() for _ in range(5)]
    notify = notifier(store, sink)

    await asyncio.gather(*(notify.notify(denial(e)) for e in episodes))

    assert len(sink.received) == 5

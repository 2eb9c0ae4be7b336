"""Staff notifications: stored for the console and emailed, without PHI, to each role."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from sqlalchemy import Engine

from activities.ports import Notification
from settings import Settings
from store.sql_notifications import SqlNotifications

# Who a notification is for, by kind (the effects' kinds, domain/effects.py); the roles
# are the API's. A kind not listed goes to ops, who work the worklist.
DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "payer_decision_overdue": ("ops",),
    "denied": ("ops", "intake"),
    "info_requested": ("ops", "intake"),
    "claims_held": ("billing",),
    "authorization_ended": ("ops", "billing"),
    "payer_notice": ("ops",),
}
FALLBACK_ROLES = ("ops",)
SUBJECTS = {
    "payer_decision_overdue": "A payer decision is overdue",
    "denied": "An authorization was denied",
    "info_requested": "A payer asks for information",
    "claims_held": "A claim is held",
    "authorization_ended": "An authorization ended",
    "payer_notice": "A payer sent a notice",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Routing:
    """Roles per kind, and email addresses per kind or role (a kind's list wins)."""

    roles: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_ROLES))
    addresses: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def roles_for(self, kind: str) -> tuple[str, ...]:
        return tuple(self.roles.get(kind) or DEFAULT_ROLES.get(kind) or FALLBACK_ROLES)

    def recipients(self, kind: str, roles: Iterable[str]) -> list[str]:
        if kind in self.addresses:
            return list(dict.fromkeys(self.addresses[kind]))
        return list(dict.fromkeys(a for role in roles for a in self.addresses.get(role, ())))


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: upgrade when the server offers STARTTLS
    use_tls: bool = False
    timeout: float = 20.0

    async def send(self, message: EmailMessage) -> None:
        message["From"] = self.sender
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.start_tls,
            use_tls=self.use_tls,
            timeout=self.timeout,
        )


def email_for(kind: str, link: str, recipients: Sequence[str]) -> EmailMessage:
    """No PHI: the kind and a link to the episode page behind the console's login, nothing
    from the notification's detail (which may quote a payer's reason about the patient)."""
    message = EmailMessage()
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"[stepdown] {SUBJECTS.get(kind, kind.replace('_', ' '))}"
    message.set_content(
        f"A stepdown notification ({kind}) is waiting for you.\n\n"
        f"Open it in the console (sign-in required): {link}\n"
    )
    return message


def notification_key(notification: Notification) -> str:
    if notification.key is not None:
        return notification.key
    # Without a key, the same kind and detail for the same episode is the same notification.
    digest = hashlib.sha256(f"{notification.kind}\n{notification.detail}".encode()).hexdigest()
    return f"auto-{digest[:32]}"


class SqlSmtpNotifier:
    """Stores each notification (idempotent on episode_id + key), then emails it once.

    An email that fails raises, so the activity retries; the retry stores nothing new and
    sends the email it still owes.
    """

    def __init__(
        self,
        store: SqlNotifications,
        mailer: Mailer | None,
        routing: Routing,
        console_url: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._mailer = mailer
        self._routing = routing
        self._console_url = console_url.rstrip("/")
        self._clock = clock

    async def notify(self, notification: Notification) -> None:
        key, kind = notification_key(notification), notification.kind
        roles = self._routing.roles_for(kind)
        owed = await asyncio.to_thread(
            self._store.store,
            notification.episode_id,
            key,
            kind,
            notification.detail,
            roles,
            self._clock(),
        )
        recipients = self._routing.recipients(kind, roles)
        if not owed or self._mailer is None or not recipients:
            return
        link = f"{self._console_url}/console/episodes/{notification.episode_id}"
        await self._mailer.send(email_for(kind, link, recipients))
        await asyncio.to_thread(
            self._store.mark_emailed, notification.episode_id, key, self._clock()
        )


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    if settings.smtp_host is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=password,
        start_tls={"starttls": True, "tls": False, "none": False}[settings.smtp_tls],
        use_tls=settings.smtp_tls == "tls",
    )


def sql_smtp_notifier(settings: Settings, engine: Engine) -> SqlSmtpNotifier:
    """The production notifier: the notifications table, and SMTP when a host is set."""
    routing = Routing(
        roles={**DEFAULT_ROLES, **{k: tuple(v) for k, v in settings.notify_roles.items()}},
        addresses=settings.notify_emails,
    )
    return SqlSmtpNotifier(
        SqlNotifications(engine), smtp_mailer(settings), routing, settings.public_api_url()
    )

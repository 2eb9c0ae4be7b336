"""The dev stack's SMTP sink: an aiosmtpd server that keeps every email it receives, and a
page listing them (`stepdown dev` serves it; tests start the sink on their own)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from settings import get_settings


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    raw: bytes
    received_at: datetime


class MailSink:
    """Accepts every message on host:port; keeps it in memory and, given a directory, as an
    .eml file there so it outlives the process."""

    def __init__(self, host: str, port: int, directory: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedMail] = []
        self._directory = directory
        self._controller = Controller(self, hostname=host, port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")),
            body=body.get_content() if body is not None else "",
            raw=raw,
            received_at=datetime.now(UTC),
        )
        with self._lock:
            self._received.append(mail)
            count = len(self._received)
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
            name = f"{mail.received_at:%Y%m%dT%H%M%S}-{count:05d}.eml"
            (self._directory / name).write_bytes(raw)
        return "250 Message accepted for delivery"


PAGE = Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>dev mail · stepdown</title><style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}
article{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:.5rem 0}
pre{white-space:pre-wrap}.muted{color:#666}</style></head><body>
<h1>Emails the dev SMTP sink received</h1>
<p class="muted">SMTP on {{ smtp }}; newest first. Nothing here leaves this machine.</p>
{% for mail in mails %}<article><h2>{{ mail.subject }}</h2>
<p class="muted">{{ mail.received_at.isoformat(timespec="seconds") }} · from {{ mail.mail_from }}
to {{ mail.recipients | join(", ") }}</p><pre>{{ mail.body }}</pre></article>
{% else %}<p>No email yet.</p>{% endfor %}</body></html>"""
)


def create_app() -> FastAPI:
    """`uvicorn devstack.mailsink:create_app --factory`: the sink and its page."""
    settings = get_settings()
    host = settings.smtp_host or "127.0.0.1"
    sink = MailSink(host, settings.devstack.smtp_port, settings.data_dir / "mail")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sink.start()
        try:
            yield
        finally:
            sink.stop()

    app = FastAPI(title="stepdown dev mail", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        mails = list(reversed(sink.received))
        return PAGE.render(mails=mails, smtp=f"{host}:{settings.devstack.smtp_port}")

    @app.get("/messages")
    async def messages() -> list[dict[str, Any]]:
        return [
            {
                "from": m.mail_from,
                "to": list(m.recipients),
                "subject": m.subject,
                "body": m.body,
                "received_at": m.received_at.isoformat(),
            }
            for m in sink.received
        ]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

"""The page shell of the console: escaping, the header with logout, and safe HTML responses."""

from __future__ import annotations

import secrets
from html import escape

from fastapi.responses import HTMLResponse

from api.console.session import CSRF_FIELD, Session
from api.console.style import CSS
from api.console.templates import render_template

# Pages show PHI behind a login: never cached, never framed, no referrer to other sites.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def csrf_input(session: Session) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(session.csrf)}">'


def who(session: Session) -> str:
    user = session.user
    return f"{user.name} ({user.role})" if user.name else user.role


def render(
    title: str,
    body: str,
    session: Session | None,
    *,
    status: int = 200,
    script: str = "",
    query: str | None = None,
) -> HTMLResponse:
    """A whole page (templates/base.html); `script` (trusted, ours) runs under a per-response
    CSP nonce; `query` refills the header's search box."""
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "base.html",
        title=title,
        css=CSS,
        session=session,
        who=who(session) if session else "",
        query=query,
        body=body,
        script=script,
        nonce=nonce,
    )
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    headers = SECURITY_HEADERS | {"Content-Security-Policy": csp}
    return HTMLResponse(html, status_code=status, headers=headers)


def message_page(
    title: str, detail: str, session: Session | None, status: int, link: str = ""
) -> HTMLResponse:
    """A plain page that explains a refusal or failure and what to do next."""
    body = f'<div class="card"><h1>{esc(title)}</h1><p>{esc(detail)}</p>{link}</div>'
    return render(title, body, session, status=status)

"""The episode page's payer submissions (ops): what went to the payer, how, and its answer."""

from __future__ import annotations

from api.console.page import esc
from store.submissions import Submission

STATUS_STYLE = {"answered": "ok", "accepted": "ok", "failed": "bad", "sending": "warn"}


def _payload(label: str, text: str | None) -> str:
    if not text:
        return ""
    # Wrapped: a Bundle is one long line of JSON and must not widen the page.
    return (
        f"<details><summary>{esc(label)}</summary>"
        f'<pre style="white-space:pre-wrap;overflow-wrap:anywhere">{esc(text[:20000])}</pre>'
        "</details>"
    )


def submission_row(s: Submission) -> str:
    badge = f'<span class="badge {STATUS_STYLE.get(s.status, "")}">{esc(s.status)}</span>'
    answer = f"{s.response_status or ''} {esc(s.error or '')}".strip()
    return (
        f"<tr><td>{esc(s.created_at.isoformat(timespec='seconds'))}</td>"
        f"<td>{esc(s.purpose)}</td><td>{esc(s.channel)}</td><td>{badge}</td>"
        f"<td>{esc(s.trace_number)}</td><td>{answer}"
        f"{_payload('sent', s.payload)}{_payload('answer', s.response)}</td></tr>"
    )


def submissions_card(submissions: list[Submission]) -> str:
    rows = "".join(submission_row(s) for s in submissions)
    table = (
        "<table><thead><tr><th>When</th><th>Purpose</th><th>Channel</th><th>Status</th>"
        f"<th>Trace</th><th>Answer</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">Nothing sent to the payer yet.</p>'
    )
    return (
        '<section class="card" aria-labelledby="sub-h">'
        f'<h2 id="sub-h">Payer submissions</h2>{table}</section>'
    )

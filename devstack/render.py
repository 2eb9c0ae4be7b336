"""Rich renderings of API answers for people: episode views, events, lists and the worklist."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from devstack.statechart import Transition


def relative(instant: str | None, now: datetime | None = None, *, exact: bool = False) -> str:
    """`2026-11-30T14:00:00+00:00` -> `in 2 d 3 h` or `5 h ago`; `exact` adds the instant."""
    if not instant:
        return ""
    try:
        when = datetime.fromisoformat(instant)
    except ValueError:
        return instant
    if when.tzinfo is None:
        return instant
    seconds = int((when - (now or datetime.now(UTC))).total_seconds())
    span = _span(abs(seconds))
    text = f"in {span}" if seconds >= 0 else f"{span} ago"
    return f"{text} ({instant})" if exact else text


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min" if rest >= 60 else f"{rest} s"


def compact(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def episode_view(view: Mapping[str, Any]) -> RenderableType:
    """The view as rows of plain text: values never pass through Rich markup, so an
    authorization shown as "[active]" keeps its brackets and no value can restyle the output."""
    head = Table(show_header=False, title=Text(f"episode {view.get('episode_id')}"))
    payer = view.get("payer") or {}
    head.add_row("state", Text(str(view.get("state")), style="bold"))
    head.add_row("payer", Text(f"{payer.get('id')} ({payer.get('plan_type')})"))
    head.add_row("trace number", Text(str(view.get("trace_number") or "")))
    head.add_row("version", Text(str(view.get("version"))))
    auth = view.get("authorization")
    if auth:
        head.add_row(
            "authorization",
            Text(
                f"{auth['number']} {auth['start']}…{auth['end']} {auth['units']} "
                f"{auth['unit_type']} [{auth['status']}]"
            ),
        )
    units = view.get("units") or {}
    head.add_row("units", Text(f"{units.get('used', 0)} used of {units.get('approved', 0)}"))
    parts: list[RenderableType] = [head]
    if view.get("deadlines"):
        parts.append(_table("deadline", "due", rows=_deadlines(view["deadlines"])))
    if view.get("claims"):
        headers = ("claim", "status", "through", "reasons", "dropped lines", "superseded by")
        parts.append(_table(*headers, rows=_claims(view["claims"])))
    return Group(*parts)


def _deadlines(deadlines: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    return [[d["kind"], relative(d.get("due"), exact=True)] for d in deadlines]


def _claims(claims: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for claim in claims:
        reasons = "; ".join(r.get("code", "") for r in claim.get("reasons") or [])
        dropped = "; ".join(
            f"{r.get('code', '')} ({', '.join(r.get('lines') or [])})"
            for r in claim.get("dropped") or []
        )
        by = claim.get("superseded_by") or ("withdrawn" if claim["status"] == "superseded" else "")
        rows.append(
            [claim["claim_id"], claim["status"], str(claim.get("through")), reasons, dropped, by]
        )
    return rows


def events_table(events: Iterable[Mapping[str, Any]]) -> Table:
    rows = [[str(e["seq"]), e["type"], str(e["at"]), compact(e.get("data", {}))] for e in events]
    return _table("seq", "type", "at", "data", rows=rows, title="domain events")


def history_table(history: Iterable[Mapping[str, Any]]) -> Table:
    rows = [
        [str(h.get("event_id")), str(h.get("time")), str(h.get("type")), compact(h.get("details"))]
        for h in history
    ]
    return _table("id", "time", "type", "details", rows=rows, title="Temporal history")


def summaries_table(summaries: Iterable[Mapping[str, Any]]) -> Table:
    rows = [
        [
            s["episode_id"],
            s["state"],
            s.get("payer_id", ""),
            s.get("plan_type", ""),
            relative(s.get("next_deadline")),
            str(s.get("held_claims", "")),
        ]
        for s in summaries
    ]
    headers = ("episode", "state", "payer", "plan type", "next deadline", "held claims")
    return _table(*headers, rows=rows, title="episodes")


def worklist_table(items: Iterable[Mapping[str, Any]]) -> Table:
    rows = [
        [i["episode_id"], i["kind"], relative(i.get("due")), i.get("detail", "")] for i in items
    ]
    return _table("episode", "kind", "due", "detail", rows=rows, title="worklist")


def transitions_table(steps: Iterable[Transition]) -> Table:
    rows = [[t.source, t.target, t.label] for t in steps]
    return _table("from", "to", "on", rows=rows, title="episode states (from the decider)")


def _table(*headers: str, rows: list[list[str]], title: str | None = None) -> Table:
    table = Table(*headers, title=title)
    for row in rows:
        # Text, not str: API values ("[active]", a payer's reason) are never Rich markup.
        table.add_row(*(Text(cell) for cell in row))
    return table


def payers_table(payers: Iterable[Mapping[str, Any]]) -> Table:
    rows = [
        [
            p["payer_id"],
            p["plan_type"],
            p["channel"],
            (p.get("pas") or {}).get("base_url") or p.get("clearinghouse_mailbox") or "",
            ", ".join(p.get("webhook_secrets") or []) or "(settings)",
        ]
        for p in payers
    ]
    return _table("payer", "plan type", "channel", "endpoint", "webhook secrets", rows=rows)

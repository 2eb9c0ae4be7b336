"""Hypothesis strategies for payer decisions, JSON documents and mutated webhook bodies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, get_args

from hypothesis import strategies as st

from domain.model import PayerDecision, ReviewAction, UnitType

JSON_ALPHABET = st.characters(codec="utf-8")
JSON_TEXT = st.text(JSON_ALPHABET, max_size=30)
# X12 has no escape mechanism, so decisions sent as X12 avoid its delimiters and line breaks.
X12_ALPHABET = st.characters(
    whitelist_categories=("L", "N", "P", "S", "Zs"), blacklist_characters="*:~^\r\n"
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
SERVICE_CODES = st.lists(st.from_regex(r"[A-Z0-9]{4,5}", fullmatch=True), unique=True, max_size=3)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def decisions(draw: st.DrawFn, alphabet: st.SearchStrategy[str] = JSON_ALPHABET) -> PayerDecision:
    def sized(low: int, high: int) -> st.SearchStrategy[str]:
        return st.text(alphabet, min_size=low, max_size=min(high, 40))

    start = draw(_optional(st.dates(date(2020, 1, 1), date(2035, 12, 31))))
    end = draw(_optional(st.dates(start, date(2036, 12, 31)))) if start else None
    decided_at = draw(_optional(st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1))))
    return PayerDecision(
        trace_number=draw(sized(1, 80)),
        action=draw(st.sampled_from(get_args(ReviewAction))),
        authorization_number=draw(_optional(sized(1, 64))),
        start=start,
        end=end,
        units=draw(_optional(st.integers(0, 100_000))),
        unit_type=draw(_optional(st.sampled_from(get_args(UnitType)))),
        service_codes=tuple(draw(SERVICE_CODES)),
        reason_code=draw(_optional(sized(1, 32))),
        reason=draw(_optional(sized(1, 200))),
        reference=draw(_optional(sized(1, 80))),
        decided_at=decided_at and decided_at.replace(microsecond=0, tzinfo=draw(ZONES)),
    )


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> bytes:
    """`document` with one randomly chosen node replaced by arbitrary JSON."""
    copy = json.loads(json.dumps(document))
    paths = list(_paths(copy))
    path = draw(st.sampled_from(paths))
    replacement = draw(json_values)
    if not path:
        return json.dumps(replacement).encode()
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = replacement
    return json.dumps(copy).encode()


@st.composite
def damaged_bytes(draw: st.DrawFn, body: bytes) -> bytes:
    """`body` truncated, with a byte overwritten, or with a slice deleted."""
    cut = draw(st.integers(0, len(body)))
    how = draw(st.sampled_from(["truncate", "overwrite", "delete"]))
    if how == "truncate":
        return body[:cut]
    if how == "overwrite":
        return body[:cut] + bytes([draw(st.integers(0, 255))]) + body[cut + 1 :]
    return body[:cut] + body[cut + draw(st.integers(1, 40)) :]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))

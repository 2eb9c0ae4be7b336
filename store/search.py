"""Search keys of an episode: the words a coordinator types to find it, normalised.

Patient name words, member id, authorization numbers and trace numbers, each matched
whole (case and accents ignored): "ortiz", "Dana Ortiz", "M123456", "AUTH-7". Whole-key
matching lets the store keep only each key's keyed digest (HMAC under the payload keys'
index keys, store/phi.py): a search digests its words the same way and compares digests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from domain.views import StoredEvent

TOKEN = re.compile(r"[0-9a-z]+(?:['\-._/][0-9a-z]+)*")
NAME_PART = re.compile(r"[0-9a-z]+")
MAX_KEY = 200
MAX_QUERY_TOKENS = 8


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def query_tokens(q: str) -> list[str]:
    """The words of a search, each of which an episode must have as a key."""
    return list(dict.fromkeys(TOKEN.findall(normalise(q))))[:MAX_QUERY_TOKENS]


def _name_keys(name: str) -> set[str]:
    words = TOKEN.findall(normalise(name))
    # "Mary-Jane" is found as "mary-jane", "mary" and "jane".
    return {w for word in words for w in (word, *NAME_PART.findall(word))}


def _whole(value: Any) -> set[str]:
    return {t for t in TOKEN.findall(normalise(str(value)))} if value else set()


def event_keys(event: StoredEvent) -> set[tuple[str, str]]:
    """(kind, key) pairs that `event` makes an episode findable by."""
    data = event.data
    keys: set[tuple[str, str]] = set()
    if event.type == "episode_opened":
        patient = data.get("patient") or {}
        keys |= {("name", k) for k in _name_keys(str(patient.get("name") or ""))}
        keys |= {("member", k) for k in _whole(patient.get("member_id"))}
    elif event.type == "authorization_requested":
        keys |= {("trace", k) for k in _whole(data.get("trace_number"))}
    elif event.type == "authorization_granted":
        keys |= {("auth", k) for k in _whole((data.get("authorization") or {}).get("number"))}
    return {(kind, key[:MAX_KEY]) for kind, key in keys}


def episode_keys(events: Iterable[StoredEvent]) -> set[tuple[str, str]]:
    return {key for event in events for key in event_keys(event)}

"""The hash chain of the event store: each stored event's hash over one canonical JSON form.

The canonical form of a stored event is the UTF-8 bytes of the JSON object

    {"at": A, "data": D, "episode_id": E, "prev_hash": P, "seq": N, "type": T}

written with sorted keys at every depth, no whitespace (separators "," and ":"), non-ASCII
characters as themselves (not \\u escapes), NaN and infinities refused, where

- A is the event's instant in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six digits),
- D is the `data` column exactly as written to the row (the event without `type` and `at`),
- E, N, T are the row's `episode_id`, `seq` and `type`,
- P is the hash of the episode's event `seq - 1`, or GENESIS (64 zeros) for `seq` 1.

An event's hash is the lowercase hex SHA-256 of that form. Changing any stored field of any
event changes its hash and, through `prev_hash`, the hash every later event must have, so a
changed, deleted or reordered event shows when the chain is recomputed
(`stepdown events verify`). The HIPAA Security Rule asks for a way to corroborate that
electronic PHI was not altered (45 CFR 164.312(c)(2)); this chain is that mechanism.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_instant(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: events carry aware instants only")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_form(
    episode_id: str, seq: int, type: str, at: datetime, data: dict[str, Any], prev_hash: str
) -> bytes:
    document = {
        "at": canonical_instant(at),
        "data": data,
        "episode_id": episode_id,
        "prev_hash": prev_hash,
        "seq": seq,
        "type": type,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def event_hash(
    episode_id: str, seq: int, type: str, at: datetime, data: dict[str, Any], prev_hash: str
) -> str:
    return hashlib.sha256(canonical_form(episode_id, seq, type, at, data, prev_hash)).hexdigest()


@dataclass(frozen=True)
class RecordedEvent:
    """One row of the event store, as stored."""

    episode_id: str
    seq: int
    type: str
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def recomputed(self, prev_hash: str) -> str:
        return event_hash(self.episode_id, self.seq, self.type, self.at, self.data, prev_hash)


def chain_problems(episode_id: str, rows: Iterable[RecordedEvent]) -> list[str]:
    """What is wrong with one episode's stored chain, in storage (seq) order; [] when intact.

    Checks that seq runs 1..n without gaps or repeats, that each row's `prev_hash` is the
    hash of the row before it, and that each row's `hash` is the hash of its own content.
    """
    problems: list[str] = []
    expected_prev = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = (
                    str(expected_seq)
                    if row.seq == expected_seq + 1
                    else f"{expected_seq}..{row.seq - 1}"
                )
                problems.append(f"seq {missing} missing before seq {row.seq}")
            else:
                problems.append(f"seq {row.seq} out of order after seq {expected_seq - 1}")
        if row.prev_hash != expected_prev:
            problems.append(
                f"seq {row.seq}: prev_hash {row.prev_hash[:12]}… is not the hash of the event "
                f"before it ({expected_prev[:12]}…): an event was removed, inserted or reordered"
            )
        actual = row.recomputed(row.prev_hash)
        if actual != row.hash:
            problems.append(
                f"seq {row.seq} ({row.type}): content does not match its hash "
                f"(stored {row.hash[:12]}…, computed {actual[:12]}…): the event was altered"
            )
        expected_prev = row.hash
        expected_seq = max(expected_seq, row.seq) + 1
    return [f"{episode_id}: {p}" for p in problems]

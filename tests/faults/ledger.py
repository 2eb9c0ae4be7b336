"""What each fault scenario measures: deliveries lost and doubled, and the report row it gives."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from store.ports import ReadModel

# Answers that tell the payer the decision is kept: applied now, queued, or already applied.
ACKNOWLEDGED = {"applied", "queued", "duplicate"}


@dataclass
class FaultResult:
    """One row of docs/reliability.md: the fault, its load, and what was lost or doubled."""

    fault: str
    load: dict[str, int]
    lost: int
    doubled: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    # What went wrong besides losing or doubling (wrong end states, read-model gaps): must be [].
    problems: list[str] = field(default_factory=list)
    # Histories written during the fault that the workflow code no longer replays.
    unreplayable: int = 0
    # Why the scenario did not run (e.g. no PostgreSQL); empty when it ran.
    skipped: str = ""

    @property
    def failed(self) -> bool:
        return not self.skipped and bool(self.lost or self.doubled or self.problems)

    def describe_load(self) -> str:
        def one(name: str, value: int) -> str:
            return name[:-1] if value == 1 and name.endswith("s") else name

        return ", ".join(f"{value:,} {one(name, value)}" for name, value in self.load.items())


@dataclass
class Ledger:
    """Every webhook answer per delivery id, in the order the answers came back."""

    answers: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, delivery_id: str, response: httpx.Response) -> str:
        body: dict[str, Any] = response.json()
        status = body["status"] if response.status_code == 202 else f"http {response.status_code}"
        self.answers[delivery_id].append((response.status_code, status))
        return status

    def acknowledged(self) -> set[str]:
        """Deliveries the API answered 202 at least once: these must never be lost."""
        return {d for d, seen in self.answers.items() if any(s in ACKNOWLEDGED for _, s in seen)}

    def applied_twice(self) -> int:
        """Deliveries told `applied` more than once: a repeat must hear `duplicate`."""
        return sum(1 for seen in self.answers.values() if [s for _, s in seen].count("applied") > 1)

    def count(self, status: str) -> int:
        return sum(1 for seen in self.answers.values() for _, s in seen if s == status)


def applied_deliveries(read_model: ReadModel, episode_ids: list[str]) -> Counter[str]:
    """How many domain events each delivery id produced, from the read model."""
    counts: Counter[str] = Counter()
    for episode_id in episode_ids:
        for event in read_model.events(episode_id):
            delivery = event.data.get("delivery_id")
            if delivery:
                counts[delivery] += 1
    return counts


def lost_and_doubled(ledger: Ledger, applied: Counter[str]) -> tuple[int, int]:
    """Lost: acknowledged but never applied. Doubled: applied more than once, or told so."""
    lost = sum(1 for delivery in ledger.acknowledged() if applied[delivery] == 0)
    doubled = sum(n - 1 for n in applied.values() if n > 1) + ledger.applied_twice()
    return lost, doubled


def seq_problems(read_model: ReadModel, versions: dict[str, int]) -> list[str]:
    """Episodes whose projected events are not exactly 1..version (gaps, or missing tails)."""
    problems = []
    for episode_id, version in versions.items():
        seqs = [event.seq for event in read_model.events(episode_id)]
        if seqs != list(range(1, version + 1)):
            problems.append(f"{episode_id}: {len(seqs)} of {version} events projected")
    return problems


async def projected_completely(
    read_model: ReadModel, versions: dict[str, int], timeout: float
) -> list[str]:
    """Waits up to `timeout` for every episode's events to reach its version; the problems left."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        problems = await asyncio.to_thread(seq_problems, read_model, versions)
        if not problems or asyncio.get_running_loop().time() > deadline:
            return problems
        await asyncio.sleep(0.2)

"""Fault 5a: the three payer parsers under hypothesis: valid bodies round-trip, junk is refused."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.model import PayerDecision
from payers.formats import UnparseableDecision, UnsupportedFormat, parse_decision
from payers.formats.examples import EXAMPLES, canonical_body, pas_body, x12_body
from tests.faults.ledger import FaultResult
from tests.support.payer_strategies import (
    JSON_ALPHABET,
    X12_ALPHABET,
    damaged_bytes,
    json_values,
    mutated_json,
)

RENDER = {
    "application/json": canonical_body,
    "application/fhir+json": pas_body,
    "application/edi-x12": x12_body,
}
SEGMENTS = ["ISA", "GS", "ST", "BHT", "HL", "TRN", "UM", "HCR", "REF", "DTP", "HSD", "SV1"]
Case = tuple[bytes, PayerDecision | None]


def fuzz_examples() -> int:
    """FUZZ_EXAMPLES: cases per parser and for intake; 3,000 by default."""
    return int(os.environ.get("FUZZ_EXAMPLES", "3000"))


def segment_soup() -> st.SearchStrategy[bytes]:
    segment = st.tuples(st.sampled_from(SEGMENTS), st.lists(st.text(max_size=12), max_size=6))
    return st.lists(segment, max_size=12).map(
        lambda segs: "~".join("*".join([s, *e]) for s, e in segs).encode("utf-8", "surrogatepass")
    )


def valid_decisions(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[PayerDecision]:
    """The example decisions under generated trace numbers: cheap to draw, always valid.
    tests/payers round-trips fully generated decisions; here the junk is the point."""
    examples = st.sampled_from(list(EXAMPLES.values()))
    traces = st.text(alphabet, min_size=1, max_size=40).filter(str.strip)
    return st.builds(lambda d, t: d.model_copy(update={"trace_number": t}), examples, traces)


def cases(media_type: str) -> st.SearchStrategy[Case]:
    """Valid decisions rendered in the format (expected back), or junk of many shapes (None)."""
    render = RENDER[media_type]
    x12 = media_type == "application/edi-x12"
    valid = valid_decisions(X12_ALPHABET if x12 else JSON_ALPHABET).map(lambda d: (render(d), d))
    example = render(EXAMPLES["approve"])
    junk = [st.binary(max_size=600), damaged_bytes(example)]
    if x12:
        junk.append(segment_soup())
    else:
        junk += [
            json_values.map(lambda v: json.dumps(v).encode()),
            mutated_json(json.loads(example)),
        ]
    none: PayerDecision | None = None
    # One branch in four or five is a valid body: junk is what this fault is about.
    return st.one_of(valid, *(strategy.map(lambda body: (body, none)) for strategy in junk))


class Tally:
    """Cases run, valid bodies not read back as sent, and undocumented failures."""

    def __init__(self) -> None:
        self.cases = 0
        self.misread: list[str] = []
        self.crashes: list[str] = []

    def check(self, media_type: str, body: bytes, expected: PayerDecision | None) -> None:
        self.cases += 1
        try:
            parsed = parse_decision(media_type, body)
        except (UnparseableDecision, UnsupportedFormat) as err:
            parsed = None
            assert str(err)
        except Exception as err:
            self.crashes.append(f"{media_type} {type(err).__name__} on {body[:120]!r}")
            return
        if expected is not None and parsed != expected:
            self.misread.append(f"{media_type}: {expected!r} came back as {parsed!r}")


def fuzz(media_type: str, examples: int, tally: Tally) -> None:
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(media_type))
    def one(case: Case) -> None:
        tally.check(media_type, *case)

    one()


def run(examples: int | None = None) -> FaultResult:
    began = time.monotonic()
    per_parser = examples or fuzz_examples()
    tally = Tally()
    for media_type in RENDER:
        fuzz(media_type, per_parser, tally)
    notes = [
        "lost: a valid decision not read back as sent; doubled: n/a (parsing changes nothing); "
        "junk must raise only UnparseableDecision/UnsupportedFormat",
    ]
    load: dict[str, Any] = {"parsers": len(RENDER), "bodies": tally.cases}
    fault = "Bad input: payer parsers fuzzed (hypothesis)"
    problems = tally.crashes + tally.misread
    return FaultResult(
        fault, load, len(tally.misread), 0, time.monotonic() - began, notes, problems
    )

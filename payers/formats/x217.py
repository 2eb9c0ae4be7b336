"""Checks a 278 request against the 005010X217 layout: envelope, loops, segment order, elements.

pyx12 ships no X217 map, so this is the check our tests (and the simulator, acting as the
clearinghouse) run. Each problem carries the 999 codes a clearinghouse would report: IK304
for a segment (2 unexpected, 3 required missing, 5 too many uses, 8 has element errors) and
IK403 for an element (1 required missing, 7 invalid code, 8 invalid date, 6 invalid value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from payers.formats.errors import UnparseableDecision
from payers.formats.x12 import Segment, element, read_delimiters, split_segments
from payers.formats.x217_rules import LEVELS, PARENTS, Rule, element_problems

NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class LayoutError:
    """One departure from X217; `position` counts from ST (1), 0 for the envelope."""

    position: int
    segment_id: str
    loop: str
    code: str
    message: str
    element: int | None = None
    # IK403 when `element` is set: 1 missing, 2 conditional missing, 6 invalid value, 7 code …
    element_code: str | None = None


def check_elements(segment: Segment, loop: str, position: int, component: str) -> list[LayoutError]:
    return [
        LayoutError(position, segment[0], loop, "8", f"{segment[0]}{i:02d}: {text}", i, code)
        for i, code, text in element_problems(segment, loop, component)
    ]


def check_278_request(body: bytes) -> list[LayoutError]:
    """Every layout problem of the interchange in `body`; an empty list means it conforms."""
    try:
        text = body.decode("ascii")
        delimiters = read_delimiters(text)
        segments = split_segments(text, delimiters)
    except (UnicodeDecodeError, UnparseableDecision) as err:
        return [LayoutError(0, "ISA", "", "1", f"not a readable X12 interchange: {err}")]
    problems = _envelope(segments)
    for start, end in _transactions(segments):
        problems += check_transaction(segments[start : end + 1], delimiters.component)
    return problems


def _envelope(segments: list[Segment]) -> list[LayoutError]:
    ids = [s[0] for s in segments]
    problems: list[LayoutError] = []

    def fail(segment_id: str, message: str) -> None:
        problems.append(LayoutError(0, segment_id, "", "3", message))

    if ids[:2] != ["ISA", "GS"] or ids[-2:] != ["GE", "IEA"]:
        fail("ISA", f"the interchange must be ISA GS … GE IEA, not {ids[:2]} … {ids[-2:]}")
        return problems
    isa, gs, ge, iea = segments[0], segments[1], segments[-2], segments[-1]
    widths = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
    if len(isa) != 17 or any(len(v) != w for v, w in zip(isa[1:], widths, strict=False)):
        fail("ISA", "ISA must have 16 fixed-width elements")
    elif isa[12] != "00501" or not NUMBER.fullmatch(isa[13]):
        fail("ISA", f"ISA12 {isa[12]!r} must be 00501 and ISA13 {isa[13]!r} nine digits")
    if element(gs, 1) != "HI" or element(gs, 8) != "005010X217":
        fail("GS", f"GS01/GS08 are {element(gs, 1)!r}/{element(gs, 8)!r}; need HI/005010X217")
    if element(iea, 1) != "1" or element(iea, 2) != element(isa, 13):
        fail("IEA", f"IEA {iea[1:]} must count 1 group and repeat ISA13 {element(isa, 13)}")
    transactions = ids.count("ST")
    if element(ge, 1) != str(transactions) or element(ge, 2) != element(gs, 6):
        fail("GE", f"GE {ge[1:]} must count {transactions} sets and repeat GS06")
    if transactions == 0:
        fail("ST", "the group holds no transaction set")
    return problems


def _transactions(segments: list[Segment]) -> list[tuple[int, int]]:
    spans, start = [], None
    for index, segment in enumerate(segments):
        if segment[0] == "ST":
            start = index
        elif segment[0] == "SE" and start is not None:
            spans.append((start, index))
            start = None
    return spans


def check_transaction(segments: list[Segment], component: str = ":") -> list[LayoutError]:
    """One ST … SE transaction set."""
    st, se = segments[0], segments[-1]
    problems = []
    if element(st, 1) != "278" or element(st, 3) != "005010X217":
        problems.append(LayoutError(1, "ST", "", "8", f"ST {st[1:]} is not a 005010X217 278"))
    if element(se, 1) != str(len(segments)):
        message = f"SE01 {element(se, 1)} but the set has {len(segments)} segments"
        problems.append(LayoutError(len(segments), "SE", "", "8", message, 1, "6"))
    if element(se, 2) != element(st, 2):
        message = f"SE02 {element(se, 2)} does not repeat ST02 {element(st, 2)}"
        problems.append(LayoutError(len(segments), "SE", "", "8", message, 2, "6"))
    body = segments[1:-1]
    if not body or body[0][0] != "BHT":
        return [*problems, LayoutError(2, "BHT", "", "3", "BHT must follow ST")]
    problems += check_elements(body[0], "header", 2, component)
    return problems + _hierarchy(body[1:], component)


def _hierarchy(segments: list[Segment], component: str) -> list[LayoutError]:
    groups = _groups(segments)
    problems: list[LayoutError] = []
    levels: dict[str, str] = {}
    for number, (position, group) in enumerate(groups, start=1):
        hl = group[0]
        problems += _hl(hl, position, number, levels, groups)
        levels[element(hl, 1)] = element(hl, 3)
        problems += _loop(group, position, element(hl, 3), component)
    for required in ("20", "21", "22", "EV"):
        if required not in levels.values():
            loop = LEVELS.get(required, ("",))[0]
            message = f"no HL with level code {required} (loop {loop})"
            problems.append(LayoutError(0, "HL", loop, "I7", message))
    return problems


def _groups(segments: list[Segment]) -> list[tuple[int, list[Segment]]]:
    """The HL loops with their positions (ST is 1, BHT 2); segments before an HL are stray."""
    groups: list[tuple[int, list[Segment]]] = []
    for offset, segment in enumerate(segments, start=3):
        if segment[0] == "HL" or not groups:
            groups.append((offset, [segment]))
        else:
            groups[-1][1].append(segment)
    return groups


def _hl(
    hl: Segment,
    position: int,
    number: int,
    levels: dict[str, str],
    groups: list[tuple[int, list[Segment]]],
) -> list[LayoutError]:
    if hl[0] != "HL":
        return [LayoutError(position, hl[0], "", "2", f"{hl[0]} before the first HL")]
    problems = []
    hl_id, parent, level, child = (element(hl, i) for i in range(1, 5))
    loop = LEVELS.get(level, ("?",))[0]
    if hl_id != str(number):
        message = f"HL01 {hl_id} is not {number}"
        problems.append(LayoutError(position, "HL", loop, "8", message, 1, "6"))
    allowed = PARENTS.get(level)
    if allowed is None:
        problems.append(LayoutError(position, "HL", loop, "8", f"HL03 {level!r} unknown", 3, "7"))
    elif levels.get(parent) not in allowed:
        found = levels.get(parent, "none")
        message = f"HL {hl_id} ({level}) has parent {parent or 'none'} ({found}); needs {allowed}"
        problems.append(LayoutError(position, "HL", loop, "8", message, 2, "6"))
    has_child = any(element(g[0], 2) == hl_id for _, g in groups)
    if child != ("1" if has_child else "0"):
        message = f"HL04 {child!r} but the HL {'has' if has_child else 'has no'} children"
        problems.append(LayoutError(position, "HL", loop, "8", message, 4, "6"))
    return problems


def _loop(group: list[Segment], position: int, level: str, component: str) -> list[LayoutError]:
    """Segment order and repeats inside one HL loop, then each segment's elements."""
    if level not in LEVELS:
        return []
    loop, grammar = LEVELS[level]
    problems: list[LayoutError] = []
    counts: dict[int, int] = {}
    pointer = 0
    for offset, segment in enumerate(group[1:], start=position + 1):
        index = _match(grammar, pointer, segment[0])
        if index is None:
            message = f"{segment[0]} is not expected here in loop {loop}"
            problems.append(LayoutError(offset, segment[0], loop, "2", message))
            continue
        if index < pointer:  # a repeated sub-loop (a provider NM1) starts again
            counts = {i: n for i, n in counts.items() if i < index}
        pointer = index
        counts[index] = counts.get(index, 0) + 1
        if counts[index] > grammar[index].most:
            message = f"{segment[0]} used more than {grammar[index].most} times in {loop}"
            problems.append(LayoutError(offset, segment[0], loop, "5", message))
        problems += check_elements(segment, loop, offset, component)
    for index, rule in enumerate(grammar):
        if counts.get(index, 0) < rule.least:
            message = f"loop {loop} needs its {rule.segment_id} segment"
            problems.append(LayoutError(position, rule.segment_id, loop, "3", message))
    return problems


def _match(grammar: tuple[Rule, ...], pointer: int, segment_id: str) -> int | None:
    for index in range(pointer, len(grammar)):
        if segment_id in grammar[index].ids:
            return index
    # Only a sub-loop's first segment may take the walk back (a second provider NM1 loop).
    for index in range(pointer):
        if grammar[index].loop_start and segment_id in grammar[index].ids:
            return index
    return None

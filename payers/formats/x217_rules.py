"""The 005010X217 request layout as data: loops per HL level, their segments, element rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from payers.formats.x12 import Segment, element

MANY = 99
DATE8 = re.compile(r"\d{8}")
TIME = re.compile(r"\d{4}(\d{2}(\d{1,2})?)?")
NUMBER = re.compile(r"\d{1,15}(\.\d+)?")


@dataclass(frozen=True)
class Rule:
    """A segment (or one of several alternatives) a loop allows, with its least/most uses."""

    ids: tuple[str, ...]
    least: int = 0
    most: int = 1
    loop_start: bool = False

    @property
    def segment_id(self) -> str:
        return "/".join(self.ids)


def _rule(ids: str, least: int = 0, most: int = 1, loop_start: bool = False) -> Rule:
    return Rule(tuple(ids.split("/")), least, most, loop_start)


# A provider name loop (2010B-D, 2010EA-EC, 2010F): NM1 then its optional detail segments.
_NAME = (_rule("NM1", 1), _rule("REF", 0, 9), _rule("N3"), _rule("N4"), _rule("PER"))
_PROVIDERS = (
    _rule("NM1", 0, MANY, loop_start=True),
    _rule("REF", 0, 7),
    _rule("N3"),
    _rule("N4"),
    _rule("PER"),
    _rule("AAA", 0, 9),
    _rule("PRV"),
)
_EVENT = (
    _rule("TRN", 0, 2),
    _rule("AAA", 0, 9),
    _rule("UM", 1),
    _rule("REF", 0, 9),
    _rule("DTP", 0, 9),
    _rule("HI"),
    _rule("HSD"),
    _rule("CRC", 0, 9),
    *(_rule(ids) for ids in ("CL1", "CR1", "CR2", "CR4", "CR5", "CR6", "CR7", "CR8")),
    _rule("PWK", 0, 10),
    _rule("MSG"),
)
_SERVICE = (
    _rule("TRN", 0, 2),
    _rule("AAA", 0, 9),
    _rule("UM", 1),
    _rule("REF", 0, 9),
    _rule("DTP", 0, 2),
    _rule("SV1/SV2/SV3/TOO"),
    _rule("HSD"),
    _rule("PWK", 0, 10),
    _rule("MSG"),
)
# HL03 level code → (loop, its segments in order after the HL).
LEVELS: dict[str, tuple[str, tuple[Rule, ...]]] = {
    "20": ("2000A", (_rule("NM1", 1),)),
    "21": ("2000B", (*_NAME, _rule("PRV"))),
    "22": ("2000C", (*_NAME, _rule("DMG"), _rule("INS"))),
    "23": ("2000D", (*_NAME, _rule("DMG"), _rule("INS"))),
    "EV": ("2000E", (*_EVENT, *_PROVIDERS)),
    "SS": ("2000F", (*_SERVICE, *_PROVIDERS)),
}
# HL03 level code → the level codes its HL02 parent may have (None: no parent).
PARENTS: dict[str, tuple[str | None, ...]] = {
    "20": (None,),
    "21": ("20",),
    "22": ("21",),
    "23": ("22",),
    "EV": ("22", "23"),
    "SS": ("EV",),
}
# NM101 entity and NM108 identification qualifiers allowed per loop.
ENTITIES: dict[str, tuple[set[str], set[str]]] = {
    "2000A": ({"X3"}, {"24", "46", "FI", "NI", "PI", "XV", "XX"}),
    "2000B": ({"1P", "FA"}, {"24", "34", "46", "XX"}),
    "2000C": ({"IL"}, {"MI"}),
    "2000D": ({"QC"}, {"MI"}),
}
DIAGNOSIS_QUALIFIERS = {"ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR", "DR", "LD"}

# (element position, IK403 error code, message)
ElementProblem = tuple[int, str, str]
Check = Callable[[Segment, str, str], list[ElementProblem]]


def element_problems(segment: Segment, loop: str, component: str) -> list[ElementProblem]:
    check = CHECKS.get(segment[0])
    return check(segment, loop, component) if check else []


def _required(segment: Segment, *indexes: int) -> list[ElementProblem]:
    return [(i, "1", "required element is missing") for i in indexes if not element(segment, i)]


def _code(segment: Segment, index: int, allowed: set[str]) -> list[ElementProblem]:
    value = element(segment, index)
    if value and value not in allowed:
        return [(index, "7", f"{value!r} is not one of {sorted(allowed)}")]
    return []


def _date(value: str, index: int) -> list[ElementProblem]:
    try:
        if DATE8.fullmatch(value):
            date(int(value[:4]), int(value[4:6]), int(value[6:]))
            return []
    except ValueError:
        pass
    return [(index, "8", f"{value!r} is not a CCYYMMDD date")]


def _bht(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2, 3, 4, 5) + _code(s, 1, {"0007"}) + _code(s, 2, {"01", "13"})
    if element(s, 4):
        found += _date(element(s, 4), 4)
    if element(s, 5) and not TIME.fullmatch(element(s, 5)):
        found.append((5, "9", f"{element(s, 5)!r} is not HHMM[SS]"))
    return found


def _hl(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    return _required(s, 1, 3, 4) + _code(s, 4, {"0", "1"})


def _nm1(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2, 3) + _code(s, 2, {"1", "2"})
    if loop in ENTITIES:
        entities, qualifiers = ENTITIES[loop]
        found += _code(s, 1, entities) + _required(s, 8, 9) + _code(s, 8, qualifiers)
    if loop in ("2000C", "2000D"):
        found += _code(s, 2, {"1"})
    return found


def _dmg(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2) + _code(s, 1, {"D8"})
    return found + (_date(element(s, 2), 2) if element(s, 2) else [])


def _trn(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2, 3) + _code(s, 1, {"1"})
    originator = element(s, 3)
    if originator and (len(originator) != 10 or originator[0] not in "19"):
        found.append((3, "6", "TRN03 must be 10 characters starting with 1 (EIN) or 9"))
    return found


def _um(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2) + _code(s, 1, {"AR", "HS", "SC"})
    found += _code(s, 2, {"1", "2", "3", "4", "I", "S"}) + _code(s, 6, {"03", "E", "U"})
    location = element(s, 4).split(component)
    if element(s, 4) and (len(location) != 2 or location[1] not in ("A", "B")):
        found.append((4, "7", "UM04 must be facility code:qualifier (A bill type, B place)"))
    return found


def _ref(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2)
    return found + (_code(s, 1, {"BB", "NT"}) if loop == "2000E" else [])


def _dtp(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1, 2, 3) + _code(s, 2, {"D8", "RD8"})
    qualifiers = {"472"} if loop == "2000F" else {"AAH", "435", "096", "439", "ABC", "484"}
    found += _code(s, 1, qualifiers)
    kind, value = element(s, 2), element(s, 3)
    parts = value.split("-") if kind == "RD8" else [value]
    if kind == "RD8" and len(parts) != 2:
        return [*found, (3, "8", f"{value!r} is not CCYYMMDD-CCYYMMDD")]
    for part in parts if value else []:
        found += _date(part, 3)
    if kind == "RD8" and not found and parts[1] < parts[0]:
        found.append((3, "8", f"the range {value} ends before it starts"))
    return found


def _hi(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1)
    if len(s) > 13:
        found.append((13, "3", "HI holds at most 12 diagnoses"))
    for index, composite in enumerate(s[1:], start=1):
        qualifier, _, code = composite.partition(component)
        if qualifier not in DIAGNOSIS_QUALIFIERS or not code:
            found.append((index, "7", f"{composite!r} is not qualifier{component}code"))
        elif index > 1 and qualifier in ("ABK", "BK"):
            found.append((index, "7", "only the first diagnosis may be principal (ABK)"))
    return found


def _hsd(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _code(s, 1, {"DY", "FL", "HS", "MN", "VS"})
    if bool(element(s, 1)) != bool(element(s, 2)):
        found.append((2, "2", "HSD01 and HSD02 go together"))
    if element(s, 2) and not NUMBER.fullmatch(element(s, 2)):
        found.append((2, "6", f"{element(s, 2)!r} is not a quantity"))
    return found


def _msg(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1)
    if len(element(s, 1)) > 264:
        found.append((1, "5", "MSG01 is longer than 264 characters"))
    return found


def _procedure(value: str, component: str, index: int) -> list[ElementProblem]:
    qualifier, _, code = value.partition(component)
    if qualifier not in ("HC", "IV", "ZZ", "N4", "ER", "WK") or not code:
        return [(index, "7", f"{value!r} is not a procedure composite such as HC:H0015")]
    return []


def _sv1(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1) + _procedure(element(s, 1), component, 1)
    found += _code(s, 3, {"MJ", "UN"}) + _quantity(s, 3, 4)
    return found


def _sv2(s: Segment, loop: str, component: str) -> list[ElementProblem]:
    found = _required(s, 1)
    if element(s, 1) and not re.fullmatch(r"\d{4}", element(s, 1)):
        found.append((1, "6", f"SV201 {element(s, 1)!r} is not a 4-digit revenue code"))
    if element(s, 2):
        found += _procedure(element(s, 2), component, 2)
    return found + _code(s, 4, {"DA", "UN"}) + _quantity(s, 4, 5)


def _quantity(s: Segment, basis: int, quantity: int) -> list[ElementProblem]:
    if bool(element(s, basis)) != bool(element(s, quantity)):
        return [(quantity, "2", "the unit basis and the quantity go together")]
    if element(s, quantity) and not NUMBER.fullmatch(element(s, quantity)):
        return [(quantity, "6", f"{element(s, quantity)!r} is not a quantity")]
    return []


CHECKS: dict[str, Check] = {
    "BHT": _bht,
    "HL": _hl,
    "NM1": _nm1,
    "DMG": _dmg,
    "TRN": _trn,
    "UM": _um,
    "REF": _ref,
    "DTP": _dtp,
    "HI": _hi,
    "HSD": _hsd,
    "MSG": _msg,
    "SV1": _sv1,
    "SV2": _sv2,
}

"""ASAM levels of care and dimension ratings for the 3rd and 4th editions (DOMAIN §1)."""

from __future__ import annotations

from typing import Literal

Edition = Literal[3, 4]

IOP_LEVEL = "2.1"

LEVELS: dict[int, tuple[str, ...]] = {
    3: ("0.5", "1", "2.1", "2.5", "3.1", "3.3", "3.5", "3.7", "4"),
    4: ("1.0", "1.5", "1.7", "2.1", "2.5", "2.7", "3.1", "3.5", "3.7", "4.0"),
}

# The 3rd edition keeps withdrawal management as "-WM" variants; the 4th folds it into the levels.
WM_SUFFIX = "-WM"
# ASAM 3rd edition withdrawal-management levels (1-WM ambulatory without extended on-site
# monitoring, 2-WM with it, 3.2-WM clinically managed residential, 3.7-WM medically monitored
# inpatient, 4-WM medically managed inpatient). Our choice: exactly these are valid "-WM"
# levels; of them 3.2-WM, 3.7-WM and 4-WM are above 2.1 and so valid from-levels (§1), and
# no -WM level is ever an IOP to-level.
WM_LEVELS: dict[int, tuple[str, ...]] = {3: ("1-WM", "2-WM", "3.2-WM", "3.7-WM", "4-WM"), 4: ()}

DIMENSIONS: dict[int, tuple[str, ...]] = {
    3: ("1", "2", "3", "4", "5", "6"),
    4: ("1", "2", "3", "4", "5", "6"),
}

# 4th edition dimension 6 (person-centered considerations) is not rated (DOMAIN §1).
UNRATED_DIMENSIONS: dict[int, frozenset[str]] = {3: frozenset(), 4: frozenset({"6"})}

MAX_RISK = 4


def base_level(level: str, edition: int) -> str:
    """The level without its withdrawal-management suffix (3rd edition only)."""
    if edition == 3 and level.endswith(WM_SUFFIX):
        return level[: -len(WM_SUFFIX)]
    return level


def is_valid_level(level: str, edition: int) -> bool:
    if level.endswith(WM_SUFFIX):
        return level in WM_LEVELS.get(edition, ())
    return level in LEVELS.get(edition, ())


def level_value(level: str, edition: int) -> float:
    return float(base_level(level, edition))


def level_problems(edition: int, from_level: str, to_level: str) -> list[str]:
    """Everything wrong with a step-down from `from_level` to `to_level` in `edition`."""
    if edition not in LEVELS:
        return [f"asam_edition must be 3 or 4, got {edition}"]
    problems = []
    for field, level in (("from_level", from_level), ("to_level", to_level)):
        if not is_valid_level(level, edition):
            allowed = ", ".join((*LEVELS[edition], *WM_LEVELS[edition]))
            problems.append(f"{field} {level!r} is not an ASAM edition {edition} level ({allowed})")
    if problems:
        return problems
    if to_level != IOP_LEVEL:
        problems.append(f"to_level must be {IOP_LEVEL} (IOP) for a step-down, got {to_level!r}")
    if level_value(from_level, edition) <= level_value(IOP_LEVEL, edition):
        problems.append(
            f"from_level {from_level!r} is not above {IOP_LEVEL}: a step-down comes from "
            "PHP/HIOP (2.5/2.7), residential (3.x) or inpatient (4) care"
        )
    return problems


def dimension_problems(edition: int, ratings: dict[str, int]) -> list[str]:
    """Ratings must cover each rated dimension once, each 0..4; unrated ones must be absent."""
    if edition not in DIMENSIONS:
        return []
    problems = []
    rated = [d for d in DIMENSIONS[edition] if d not in UNRATED_DIMENSIONS[edition]]
    for dim in rated:
        if dim not in ratings:
            problems.append(f"dimension {dim} is not rated")
    for dim, risk in sorted(ratings.items()):
        if dim not in DIMENSIONS[edition]:
            problems.append(f"dimension {dim!r} does not exist in ASAM edition {edition}")
        elif dim in UNRATED_DIMENSIONS[edition]:
            problems.append(f"dimension {dim} is not rated in ASAM edition {edition}")
        elif not 0 <= risk <= MAX_RISK:
            problems.append(f"dimension {dim} risk must be 0..{MAX_RISK}, got {risk}")
    return problems

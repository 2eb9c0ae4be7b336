"""Test tiers share helpers only through tests/support: no tier imports another tier's modules."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED = "support"


def tiers() -> list[Path]:
    """The tests/<tier>/ folders holding Python, tests/support among them (it imports no tier)."""
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("*.py")))


def imported_modules(path: Path) -> set[str]:
    """Every absolute module `path` imports; `from tests import x` counts as `tests.x`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "tests":
                names.update(f"tests.{alias.name}" for alias in node.names)
    return names


def tier_of(module: str) -> str | None:
    """The tier a module of the tests package belongs to (`tests.api.x` -> "api"), if any."""
    parts = module.split(".")
    if parts[0] != "tests" or len(parts) < 2 or not (TESTS / parts[1]).is_dir():
        return None
    return parts[1]


def foreign_tiers(path: Path, tier: str) -> list[str]:
    """The modules of other tiers (not tests/support) that `path`, a module of `tier`, imports."""
    return sorted(m for m in imported_modules(path) if tier_of(m) not in (None, SHARED, tier))


def test_no_test_tier_imports_another_tiers_helpers():
    offenders: dict[str, list[str]] = {}
    scanned = 0
    for tier in tiers():
        for path in sorted(tier.rglob("*.py")):
            scanned += 1
            if found := foreign_tiers(path, tier.name):
                offenders[str(path.relative_to(TESTS))] = found
    assert scanned > 200, "the scan must see the tiers it guards"
    assert offenders == {}

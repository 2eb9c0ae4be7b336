"""Production code cannot reach a test double: nothing outside tests/ and bench/ imports tests."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("domain", "workflows", "activities", "api", "store", "payers", "devstack")
ENTRY_POINTS = ("worker.py", "cli.py", "settings.py")


def production_files() -> list[Path]:
    files = [ROOT / name for name in ENTRY_POINTS]
    for package in PRODUCTION:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_production_module_imports_the_tests_package():
    files = production_files()
    assert len(files) > 50, "the scan must see the packages it guards"
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "tests"
        )
        for path in files
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_in_memory_ports_live_under_tests_only():
    assert not (ROOT / "activities" / "fakes.py").exists()
    assert not (ROOT / "store" / "memory.py").exists()
    assert (ROOT / "tests" / "support" / "fakes.py").exists()
    assert (ROOT / "tests" / "support" / "store_fakes.py").exists()

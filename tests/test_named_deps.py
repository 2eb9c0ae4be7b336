"""Routes say what they use: one taking the whole `Deps` bag must need it whole (it hands it
on, or uses a part no named dependency gives); otherwise it takes the named ones
(`ReadModelDep`, `ClockDep`, `MetricsDep`, `DirectoryDep`, `UsersDep`, `NotesDep`,
`AttachmentsDep` in api/deps.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import api.deps

ROOT = Path(__file__).resolve().parents[1]
# Parts of ApiDeps with a dependency of their own, by attribute (directory is a method).
NAMED = {"read_model", "clock", "metrics", "directory", "users", "notes", "attachments"}


def bag_only_for_named_parts(source: str) -> list[str]:
    """Functions taking `deps: Deps` whose every use of it is a part with a named dependency."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        params = [a for a in fn.args.args + fn.args.kwonlyargs if a.arg == "deps"]
        if not params or getattr(params[0].annotation, "id", None) != "Deps":
            continue
        uses = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == "deps"]
        parts = [parents[n] for n in uses]
        if all(isinstance(p, ast.Attribute) and p.attr in NAMED for p in parts):
            found.append(fn.name)
    return found


def test_every_named_part_has_its_dependency() -> None:
    names = {"ReadModelDep", "ClockDep", "MetricsDep", "DirectoryDep", "UsersDep"}
    assert names | {"NotesDep", "AttachmentsDep"} <= set(vars(api.deps))


def test_no_route_takes_the_whole_bag_for_parts_it_could_name() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "api").rglob("*.py"))
        if (found := bag_only_for_named_parts(path.read_text()))
    }
    assert offenders == {}


def test_the_check_finds_a_route_that_takes_the_bag_for_one_part() -> None:
    source = "async def show(deps: Deps) -> None:\n    return deps.read_model.get('x')\n"
    handed_on = "async def send(deps: Deps) -> None:\n    return Processor(deps)\n"
    assert bag_only_for_named_parts(source) == ["show"]
    assert bag_only_for_named_parts(handed_on) == []

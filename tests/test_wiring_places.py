"""One wiring place per process: each entry module builds its adapters (SQL stores, payer
gateways and channels, the mailbox, the claims batcher, the notifier, the episode client) in
one function, so swapping an adapter, or finding what a process talks to, is one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where adapters come from: what a call to a name imported from these builds is an adapter.
ADAPTER_MODULES = (
    "store",
    "payers",
    "activities.claims_batches",
    "activities.claims_outbox",
    "activities.notifier",
    "activities.episode",
    "workflows.client",
)
# Imported from those modules but building no adapter: the engine both the wiring and the
# lifecycle hold (the connection pool, disposed by its owner), and the schema migration.
NOT_ADAPTERS = {"make_engine", "upgrade"}
# Each process's entry module -> the one function that builds its adapters (None: builds none).
WIRING = {
    "worker.py": "build_adapters",
    "api/deps.py": "sql_deps",
    "api/app.py": None,
    "devstack/stack.py": "_seed_users",
}


def adapter_names(tree: ast.Module) -> set[str]:
    """Names bound in the module (at any depth) to something from an adapter module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in ADAPTER_MODULES or node.module in ADAPTER_MODULES:
                names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ADAPTER_MODULES or alias.name in ADAPTER_MODULES:
                    names.add((alias.asname or alias.name).split(".")[0])
    return names - NOT_ADAPTERS


def called_name(call: ast.Call) -> str | None:
    """The name a call starts from: `f(...)` -> f, `module.Thing(...)` -> module."""
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


def builders_by_place(path: Path) -> dict[str, set[str]]:
    """Top-level function or `Class.method` -> the adapter builders it calls."""
    tree = ast.parse(path.read_text())
    adapters = adapter_names(tree)
    places: dict[str, set[str]] = {}
    for top in tree.body:
        defs = top.body if isinstance(top, ast.ClassDef) else [top]
        for node in defs:
            if isinstance(top, ast.ClassDef) and isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef
            ):
                place = f"{top.name}.{node.name}"
            else:
                place = getattr(node, "name", "<module>")
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and called_name(call) in adapters:
                    places.setdefault(place, set()).add(str(called_name(call)))
    return places


@pytest.mark.parametrize(("module", "wiring"), WIRING.items())
def test_a_process_builds_its_adapters_in_its_one_wiring_function(module: str, wiring: str | None):
    places = builders_by_place(ROOT / module)
    elsewhere = {place: sorted(built) for place, built in places.items() if place != wiring}
    assert elsewhere == {}, f"{module} builds adapters outside {wiring or 'any function'}"
    if wiring is not None:
        assert places.get(wiring), f"{wiring} builds nothing: the scan no longer sees adapters"

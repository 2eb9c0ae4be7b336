"""domain/ stays pure: no Temporal, SQLAlchemy, HTTP or clock reads."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FORBIDDEN = ("temporalio", "sqlalchemy", "psycopg", "fastapi", "httpx", "starlette", "requests")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_no_framework():
    offenders = {
        str(p.name): sorted(n for n in _imports(p) if n.split(".")[0] in FORBIDDEN)
        for p in DOMAIN.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_never_reads_the_clock():
    text = "\n".join(p.read_text() for p in DOMAIN.glob("*.py"))
    assert "datetime.now(" not in text and "date.today(" not in text and "time.time(" not in text

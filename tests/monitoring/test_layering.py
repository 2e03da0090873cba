"""Monitoring's SQL lives in its repositories (issue 16): services, jobs and rules call them."""

import ast
from pathlib import Path

import services.monitoring

STATEMENTS = {"select", "text", "insert", "update", "delete"}
# Tables declare their partial indexes and server defaults with text(): DDL, not queries.
ALLOWED = {"repository.py", "models.py"}


def test_no_statement_is_built_outside_a_repository() -> None:
    root = Path(services.monitoring.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in STATEMENTS:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}(")
    assert found == []

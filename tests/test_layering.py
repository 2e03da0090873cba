"""The house style's layering, checked on the source: SQL is built and run only in
repositories (``repository.py``), so a reader finds every statement of a module in one file.

Outside repositories, migrations, benches and tests, no module calls SQLAlchemy's ``select``,
``text``, ``insert``, ``update`` or ``delete``, except ``text`` inside a table's DDL (an
``Index(...)``, a ``server_default=`` or ``postgresql_where=``), which declares a table rather
than querying it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATEMENTS = frozenset({"select", "text", "insert", "update", "delete"})
DDL_KEYWORDS = frozenset({"server_default", "postgresql_where"})
CODE = ("services", "shared", "workers", "povguard")


def _sqlalchemy_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls of the statement builders imported from SQLAlchemy, however they were imported."""
    names: dict[str, str] = {}  # local name -> builder
    modules: set[str] = set()  # local names of sqlalchemy modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in STATEMENTS:
                    names[alias.asname or alias.name] = alias.name
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy"):
                    modules.add((alias.asname or alias.name).split(".")[0])
    ddl = _ddl_calls(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in ddl:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in names:
            found.append((node.lineno, names[func.id]))
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in STATEMENTS
            and isinstance(func.value, ast.Name)
            and func.value.id in modules
        ):
            found.append((node.lineno, func.attr))
    return found


def _ddl_calls(tree: ast.AST) -> set[int]:
    """The calls inside an ``Index(...)`` or a DDL keyword: where ``text`` declares."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "Index":
                roots.append(node)
            roots += [k.value for k in node.keywords if k.arg in DDL_KEYWORDS]
        for root in roots:
            inside |= {id(n) for n in ast.walk(root) if isinstance(n, ast.Call)}
    return inside


def _misplaced() -> list[str]:
    misplaced = []
    for top in CODE:
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == "repository.py":
                continue
            for line, call in _sqlalchemy_calls(ast.parse(path.read_text(encoding="utf-8"))):
                misplaced.append(f"{path.relative_to(ROOT)}:{line} {call}(")
    return misplaced


def test_sql_is_built_only_in_repositories() -> None:
    assert _misplaced() == []


def test_the_check_sees_every_way_a_statement_is_written() -> None:
    source = """
from sqlalchemy import select as pick, text
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
pick(1); text("SELECT 1"); sa.update(t); insert(t); {}.update(a=1); sa.func.count()
sa.Index(None, text("left(code, 6)")); Column(server_default=text("now()"))
"""
    calls = sorted(call for _, call in _sqlalchemy_calls(ast.parse(source)))
    assert calls == ["insert", "select", "text", "update"]

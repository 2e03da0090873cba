"""The floors of ``shared/`` (docs/architecture.md), checked on the source: every module
imports only from its own floor or below, nothing in ``shared/`` imports a service, a worker
or the command line, and no import cycle joins two of its modules.

Every import counts: at the top of a module, inside a function ("late" imports hide a cycle,
they do not break it) and under ``TYPE_CHECKING``. A module takes the floor of the longest
declared name it falls under (``shared.webhooks.hub`` that of ``shared.webhooks``); a module
no floor names stands on the top floor, so nothing below may import it until it is placed."""

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# From the ground up. A newcomer reads them in this order; a module's imports point down.
FLOORS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        # Imports nothing of Povguard's outside this floor: the platform's vocabulary.
        "ground",
        frozenset(
            {
                "shared",
                # time, ids, money, messages and errors, settings
                "shared.clock",
                "shared.ids",
                "shared.money",
                "shared.i18n",
                "shared.errors",
                "shared.settings",
                # the database engine and session, its locks and pages
                "shared.db",
                "shared.concurrency",
                "shared.pagination",
                # logs, metrics, traces, request ids
                "shared.request_context",
                "shared.logging",
                "shared.metrics",
                "shared.tracing",
                "shared.observability",
                # HTTP and file helpers
                "shared.http",
                "shared.params",
                "shared.strict",
                "shared.methods",
                "shared.problem_handlers",
                "shared.body_limit",
                "shared.request_model",
                "shared.ratelimit",
                "shared.progress",
                "shared.gc_pause",
                "shared.spreadsheet",
                # rules that need no one: ID numbers, region codes, the policy order, diffs
                "shared.idnumber",
                "shared.pii",
                "shared.regions",
                "shared.policy",
                "shared.audit",
                "shared.contracts",
            }
        ),
    ),
    # Work after the commit and the accounts behind the tokens.
    ("work", frozenset({"shared.outbox", "shared.jobs", "shared.accounts"})),
    # Who is acting, and the record of what they did.
    (
        "who",
        frozenset(
            {
                "shared.auth",
                "shared.scopes",
                "shared.people",
                "shared.changelog",
                "shared.idempotency",
                "shared.registry_client",
                "shared.replica",  # reads from a streaming replica, read-your-writes kept
            }
        ),
    ),
    # What a service builds its modules on.
    (
        "base",
        frozenset(
            {
                "shared.repository",
                "shared.service_db",
                "shared.webhooks",
                "shared.openapi",
                "shared.batches",  # offline batches: on the change log and who acts
            }
        ),
    ),
    # The application: routers, handlers, lifespan.
    ("app", frozenset({"shared.app"})),
)
OUTSIDE = ("services", "workers", "povguard", "tests", "bench", "migrations")


def shared_sources() -> dict[str, str]:
    """Every module of ``shared/`` by dotted name (a package by its own name)."""
    sources = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def imports_of(name: str, source: str, modules: Iterable[str], is_package: bool) -> set[str]:
    """The modules ``name`` imports, wherever the statement is; names outside ``modules``
    (the standard library, other packages) are kept whole, those inside resolved to the
    module that holds them (``from shared import db`` is ``shared.db``)."""
    known = set(modules)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def nearest(dotted: str) -> str:
        probe = dotted
        while probe and probe not in known:
            probe = probe.rpartition(".")[0]
        return probe or dotted

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {nearest(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else nearest(base))
    found.discard(name)
    return found


def floor_of(module: str, floors: Mapping[str, int], top: int) -> int:
    probe = module
    while probe:
        if probe in floors:
            return floors[probe]
        probe = probe.rpartition(".")[0]
    return top


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    return {
        name: imports_of(name, source, sources, is_package=name.count(".") == 0 or _is_pkg(name))
        for name, source in sources.items()
    }


def _is_pkg(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").exists()


def upward_imports(graph: Mapping[str, set[str]], floors: Mapping[str, int], top: int) -> list[str]:
    """``a -> b`` where ``b`` stands on a higher floor than ``a``."""
    wrong = []
    for name, targets in sorted(graph.items()):
        for target in sorted(t for t in targets if t in graph):
            if floor_of(target, floors, top) > floor_of(name, floors, top):
                wrong.append(f"{name} -> {target}")
    return wrong


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (the strongly
    connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _floors() -> tuple[dict[str, int], int]:
    return {name: level for level, (_, names) in enumerate(FLOORS) for name in names}, len(
        FLOORS
    ) - 1


def test_no_import_cycle_inside_shared() -> None:
    assert cycles(import_graph(shared_sources())) == []


def test_every_module_imports_only_from_its_floor_or_below() -> None:
    floors, top = _floors()
    assert upward_imports(import_graph(shared_sources()), floors, top) == []


def test_shared_imports_no_service_worker_or_command() -> None:
    graph = import_graph(shared_sources())
    wrong = [
        f"{name} -> {target}"
        for name, targets in sorted(graph.items())
        for target in sorted(targets)
        if target.split(".")[0] in OUTSIDE
    ]
    assert wrong == []


def test_every_declared_floor_name_exists() -> None:
    """A floor that names a module nobody has is a map gone stale."""
    sources = shared_sources()
    declared = {name for _, names in FLOORS for name in names}
    assert sorted(declared - set(sources)) == []


def test_the_checks_catch_a_late_cycle_and_an_upward_import() -> None:
    """The checker itself: an import inside a function counts, and so does one that only
    goes up."""
    sources = {
        "shared": "",
        "shared.low": "def f():\n    from shared import high\n",
        "shared.high": "from shared.low import f\n",
        "shared.mid": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import shared.high\n",
    }
    graph = {
        name: imports_of(name, source, sources, is_package=name == "shared")
        for name, source in sources.items()
    }
    assert cycles(graph) == [["shared.high", "shared.low"]]
    floors = {"shared": 0, "shared.low": 0, "shared.mid": 0, "shared.high": 1}
    assert upward_imports(graph, floors, top=1) == [
        "shared.low -> shared.high",
        "shared.mid -> shared.high",
    ]

"""Which methods an address takes, over every route of the app.

Starlette answers a 405 with the methods of the first route whose path matched, so
``OPTIONS /v1/households`` said ``Allow: POST`` though ``GET`` is served there too; and a
literal address (``/v1/households/search``) is shadowed for other methods by a templated
one (``/v1/households/{household_id}``), so ``PATCH /v1/households/search`` became a 422
about a UUID. Both answers are computed here from all the routes."""

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts


def _matching(app: FastAPI, path: str) -> list[tuple[int, set[str]]]:
    """(number of path parameters, methods) of every route whose path matches."""
    found = []
    for route in iter_route_contexts(app.router.routes):
        regex, methods = getattr(route, "path_regex", None), route.methods
        if regex is None or not methods or not regex.match(path):
            continue
        found.append((len(getattr(route, "param_convertors", {}) or {}), set(methods)))
    return found


def _header(methods: set[str]) -> str:
    return ", ".join(sorted(methods))


def allowed(app: FastAPI, path: str) -> str:
    """The ``Allow`` header for a path: every method any route serves there."""
    methods: set[str] = set()
    for _, route_methods in _matching(app, path):
        methods |= route_methods
    return _header(methods)


def literal_allowed(app: FastAPI, path: str, parameters: int) -> str | None:
    """When a templated route (``parameters`` path parameters) took a path that a more
    literal route also matches, the literal route's methods: the request was meant for it
    and used a method it does not take (405). None when no such route exists."""
    fewer = [(n, methods) for n, methods in _matching(app, path) if n < parameters]
    if not fewer:
        return None
    least = min(n for n, _ in fewer)
    methods: set[str] = set()
    for n, route_methods in fewer:
        if n == least:
            methods |= route_methods
    return _header(methods)

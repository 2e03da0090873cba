"""HTTP conventions clients expect of every service: ``Location`` on a 201 and a weak
``ETag`` from a resource's ``version``, with ``If-None-Match`` answered 304."""

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The JSON of a created resource (as the client receives it) -> its URL.
Locator = Callable[[Mapping[str, Any]], str]


def location(template: str) -> Locator:
    """The created resource's URL from its answer's fields: ``location("/v1/funds/{id}")``.
    Path parameters the answer lacks are formatted into the template beforehand."""

    def locate(content: Mapping[str, Any]) -> str:
        return template.format_map(content)

    return locate


def created(response: Response, path: str) -> None:
    """A 201's ``Location``: the absolute path of the resource it created."""
    response.headers["Location"] = path


def settled(response: Response, *, pending: bool, created: bool, path: str) -> None:
    """The status of a ``PUT`` of a yearly rule that may wait for approval (a policy, a
    scorecard): 202 while pending, 201 with its ``Location`` when new and in force, else 200."""
    response.status_code = 202 if pending else 201 if created else 200
    if response.status_code == 201:
        response.headers["Location"] = path


# A route whose answer's version does not alone identify what the URL answers sets this
# (``untagged``); the middleware removes it and sends no ETag.
_UNTAGGED = "x-povguard-untagged"


def untagged(response: Response) -> None:
    response.headers[_UNTAGGED] = "1"


def etag(version: int) -> str:
    """The weak entity tag of a resource's ``version``: ``W/"3"``. Weak, because the bytes
    vary (compression, language, masking for the reader) while the resource is the same."""
    return f'W/"{version}"'


def none_match(header: str | None, current: str) -> bool:
    """Whether ``If-None-Match`` names ``current`` (weak comparison) or is ``*``."""
    if not header:
        return False
    wanted = _opaque(current)
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*" or (tag and _opaque(tag) == wanted):
            return True
    return False


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/").strip('"')


def versioned(route: Any) -> bool:
    """A route that answers one resource with a ``version`` (from its response model)."""
    model = getattr(route, "response_model", None)
    fields = getattr(model, "model_fields", None)
    return isinstance(model, type) and isinstance(fields, dict) and "version" in fields


class ETagMiddleware:
    """A weak ``ETag`` from ``version`` on every answer of a route whose response model is a
    versioned resource (reads and writes alike), and 304 with no body to a GET whose
    ``If-None-Match`` names it. Only those answers are buffered (one resource's JSON); lists,
    exports and streams pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def tagging_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if _UNTAGGED in headers:
                    del headers[_UNTAGGED]
                elif 200 <= message["status"] < 300 and versioned(scope.get("route")):
                    start = message  # held until the body says its version
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, tagging_send)

    @staticmethod
    async def _finish(scope: Scope, start: Message, body: bytes, send: Send) -> None:
        version = _version_of(body)
        if version is None:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        tag = etag(version)
        headers = MutableHeaders(scope=start)
        headers["ETag"] = tag
        request_headers = Headers(scope=scope)
        if (
            scope["method"] in ("GET", "HEAD")
            and start["status"] == 200
            and none_match(request_headers.get("if-none-match"), tag)
        ):
            kept = [
                (name, value)
                for name, value in start["headers"]
                if name.lower() not in (b"content-length", b"content-type", b"content-encoding")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _version_of(body: bytes) -> int | None:
    try:
        content = json.loads(body)
    except ValueError:
        return None
    version = content.get("version") if isinstance(content, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None

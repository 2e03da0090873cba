"""HTTP conventions clients expect of every service: ``Location`` on a 201 and a weak
``ETag`` from a resource's ``version``, with ``If-None-Match`` answered 304."""

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Response

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

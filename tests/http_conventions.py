"""Checks of the HTTP conventions every service keeps, walked from its OpenAPI document:
``Location`` on each 201, a weak ``ETag`` from ``version`` and 304 on ``If-None-Match``."""

from typing import Any

import httpx
from fastapi import FastAPI


def routes_answering(app: FastAPI, status: str) -> set[tuple[str, str]]:
    spec = app.openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if status in operation.get("responses", {})
    }


def get_paths(app: FastAPI) -> set[str]:
    return {path for path, ops in app.openapi()["paths"].items() if "get" in ops}


async def assert_created_at(
    client: Any, answer: httpx.Response, template: str, **params: Any
) -> str:
    """A 201 whose ``Location`` is ``template`` filled from the answer (and ``params``); when
    the service serves GET at that template, the location reads back the same resource."""
    assert answer.status_code == 201, answer.text
    body = answer.json()
    location = answer.headers.get("Location")
    assert location == template.format_map({**body, **params}), (template, location)
    assert location.startswith("/v1/")
    if template.split("?")[0] in get_paths(client.app):
        again = await client.get(location)
        assert again.status_code == 200, again.text
        assert again.json().get("id", body.get("id")) == body.get("id")
    return location


def versioned_get_paths(app: FastAPI) -> set[str]:
    """GET paths with a path parameter whose 200 schema has a ``version``: one resource."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    found = set()
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or "{" not in path:
            continue
        schema = get["responses"].get("200", {}).get("content", {}).get("application/json", {})
        ref = schema.get("schema", {}).get("$ref", "")
        if "version" in schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}):
            found.add(path)
    return found


async def assert_etag_and_304(client: Any, url: str) -> str:
    """``url`` answers a weak ETag from its version, and 304 (no body, the same ETag) to
    ``If-None-Match`` with it or ``*``; another ETag reads it again."""
    first = await client.get(url)
    assert first.status_code == 200, first.text
    etag = first.headers.get("ETag")
    assert etag == f'W/"{first.json()["version"]}"', (url, etag)
    for match in (etag, "*", f'W/"0", {etag}', etag.removeprefix("W/")):
        again = await client.get(url, headers={"If-None-Match": match})
        assert again.status_code == 304, (url, match, again.status_code)
        assert again.content == b""
        assert again.headers["ETag"] == etag
    other = await client.get(url, headers={"If-None-Match": 'W/"999999"'})
    assert other.status_code == 200
    assert other.json() == first.json()
    return etag

"""The OpenAPI document as a contract a generated client can rely on.

FastAPI puts every response model under ``application/json``; Povguard sends problems as
``application/problem+json``, so a generated client would lose every error body. The finished
document declares problems under the media type they are sent with, points "Authorize" at the
registry's token URL from every service, and names the package's version and the servers."""

from importlib import metadata
from typing import Any

from fastapi import FastAPI

from shared.errors import PROBLEM_JSON
from shared.settings import Settings

_PROBLEM_REF = "#/components/schemas/Problem"


def package_version() -> str:
    try:
        return metadata.version("povguard")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


def finish(spec: dict[str, Any], settings: Settings, service: str) -> dict[str, Any]:
    spec["info"]["version"] = package_version()
    if url := settings.public_url(service):
        spec["servers"] = [{"url": url}]
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            if "tokenUrl" in flow:
                flow["tokenUrl"] = settings.public_url("registry") + "/v1/auth/token"
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    _problem_media_type(response)
    return spec


def _problem_media_type(response: dict[str, Any]) -> None:
    """An error answer that is a problem is declared under the media type it is sent with
    (answers of another shape, such as /readyz's 503, keep theirs)."""
    content = response.setdefault("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema not in (None, {}, {"$ref": _PROBLEM_REF}):
        return
    content.pop("application/json", None)
    content[PROBLEM_JSON] = {"schema": {"$ref": _PROBLEM_REF}}


def install(app: FastAPI, settings: Settings, service: str) -> None:
    """Replace ``app.openapi`` with one that finishes FastAPI's document once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build(), settings, service)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The OpenAPI document as a contract a generated client can rely on.

FastAPI puts every response model under ``application/json``; Povguard sends problems as
``application/problem+json``, so a generated client would lose every error body. The finished
document declares problems under the media type they are sent with, points "Authorize" at the
registry's token URL from every service, and names the package's version and the servers."""

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from fastapi import FastAPI

from shared.auth import Scope
from shared.errors import PROBLEM_JSON
from shared.scopes import DESCRIPTIONS
from shared.settings import Settings

_PROBLEM_REF = "#/components/schemas/Problem"


def package_version() -> str:
    try:
        return metadata.version("povguard")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


def finish(
    spec: dict[str, Any],
    settings: Settings,
    service: str,
    scopes: Mapping[str, Scope] | None = None,
) -> dict[str, Any]:
    spec["info"]["version"] = package_version()
    if url := settings.public_url(service):
        spec["servers"] = [{"url": url}]
    token_url = settings.public_url("registry") + "/v1/auth/token"
    if spec.get("components", {}).get("securitySchemes"):
        spec["components"]["securitySchemes"] = {OAUTH2: _oauth2_scheme(token_url)}
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            _declare_scope(operation, scopes or {})
            _declare_preconditions(operation)
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    _problem_media_type(response)
    return spec


OAUTH2 = "OAuth2"


def _oauth2_scheme(token_url: str) -> dict[str, Any]:
    """Both ways in: people sign in with a password (their role decides what they may do);
    registered clients with their id and secret, and their token carries scopes."""
    return {
        "type": "oauth2",
        "description": "People: the password flow; the role decides. Registered clients "
        "(partner systems): the client-credentials flow (client id and secret in the form or "
        "in HTTP Basic); each operation names the one scope a client token needs.",
        "flows": {
            "password": {"tokenUrl": token_url, "refreshUrl": token_url, "scopes": {}},
            "clientCredentials": {
                "tokenUrl": token_url,
                "scopes": {scope.value: text for scope, text in DESCRIPTIONS.items()},
            },
        },
    }


def _declare_scope(operation: dict[str, Any], scopes: Mapping[str, Scope]) -> None:
    """Each signed-in operation lists the scope a client token needs; one missing from the
    service's map is closed to clients (``x-client-access: none``)."""
    if "security" not in operation:
        return
    scope = scopes.get(operation.get("operationId", ""))
    operation["security"] = [{OAUTH2: [scope.value] if scope is not None else []}]
    if scope is None:
        operation["x-client-access"] = "none"


_REUSED_KEY = {
    "description": "Conflict: the `Idempotency-Key` was used with a different request body "
    "(`idempotency_key.reused`), or the write conflicts with the data",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _declare_preconditions(operation: dict[str, Any]) -> None:
    """What the headers' handling answers, in the document: a write taking an
    ``Idempotency-Key`` can answer 409 ``idempotency_key.reused``; an ``If-Match`` whose
    absence is a 428 is required."""
    parameters = operation.get("parameters", [])
    responses = operation.setdefault("responses", {})
    for parameter in parameters:
        if parameter.get("in") != "header":
            continue
        if parameter["name"] == "Idempotency-Key":
            responses.setdefault("409", dict(_REUSED_KEY))
        if parameter["name"] == "If-Match" and "428" in responses:
            parameter["required"] = True
            parameter["schema"] = {"type": "string", "minLength": 1}


def _problem_media_type(response: dict[str, Any]) -> None:
    """An error answer that is a problem is declared under the media type it is sent with
    (answers of another shape, such as /readyz's 503, keep theirs)."""
    content = response.setdefault("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema not in (None, {}, {"$ref": _PROBLEM_REF}):
        return
    content.pop("application/json", None)
    content[PROBLEM_JSON] = {"schema": {"$ref": _PROBLEM_REF}}


def install(
    app: FastAPI, settings: Settings, service: str, scopes: Mapping[str, Scope] | None = None
) -> None:
    """Replace ``app.openapi`` with one that finishes FastAPI's document once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build(), settings, service, scopes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

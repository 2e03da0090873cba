"""Walking the three services' OpenAPI documents: the contract tests call every operation
they name, so a new route is covered the day it appears."""

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from shared.auth import Role
from shared.settings import Settings
from tests.conftest import XINGYI, ApiClient, wire_app

SERVICES = ["registry", "monitoring", "funds"]
PROVINCE = "520000000000"
METHODS = {"get", "post", "put", "patch", "delete"}
WRITES = {"post", "put", "patch", "delete"}
# The roles tried in turn: the first one a route's own role check lets through to validation.
ROLES = [
    (Role.province_admin, PROVINCE),
    (Role.county_officer, XINGYI),
    (Role.village_cadre, "522301100001"),
    (Role.department, XINGYI),
]
_PATH_VALUES = {"year": "2025", "code": XINGYI, "village_code": "522301100001"}


def create_app(service: str, settings: Settings, session_maker: Any, queue: Any) -> FastAPI:
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = wire_app(module.create_app(settings), session_maker, queue)
    app.state.registry_base_url = "http://registry.invalid"
    return app


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def url(path: str, operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"]
            path = path.replace("{" + name + "}", _PATH_VALUES.get(name, str(uuid4())))
    return path


def headers(operation: dict[str, Any]) -> dict[str, str]:
    """The headers the operation requires, with values that pass their schema."""
    out = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header":
            out[parameter["name"]] = "1" if parameter["name"] == "If-Match" else str(uuid4())
    return out


def json_body(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def is_array(operation: dict[str, Any]) -> bool:
    content = operation["requestBody"]["content"]["application/json"]
    return content.get("schema", {}).get("type") == "array"


def as_each_role(client: ApiClient) -> Iterator[ApiClient]:
    for role, region in ROLES:
        yield client.as_(role, region)

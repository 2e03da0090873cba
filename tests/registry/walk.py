"""Walking the registry's OpenAPI document: the class tests (every list in scope, every person
masked) call every route it names, so a new route is covered the day it appears, or the test
says which parameter it cannot fill."""

from datetime import date
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from services.registry.imports.jobs import import_ledger
from shared import idnumber
from shared.auth import Role
from tests.registry.helpers import household, member

# Routes that serve the process, not data.
NOT_DATA = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def get_operations(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """Every GET operation of the app's OpenAPI document: (path, operation)."""
    return [
        (path, ops["get"])
        for path, ops in app.openapi()["paths"].items()
        if "get" in ops and path not in NOT_DATA
    ]


def parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return operation.get("parameters", [])


def _schema(parameter: dict[str, Any]) -> dict[str, Any]:
    """The parameter's schema without the ``anyOf [..., null]`` of an optional one."""
    schema = parameter.get("schema", {})
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return option
    return schema


def is_list(app: FastAPI, operation: dict[str, Any]) -> bool:
    """Does the operation answer a list, a page (``items``) or a file (an export)?"""
    ok = operation.get("responses", {}).get("200", {})
    content = ok.get("content", {})
    if any(kind != "application/json" for kind in content):
        return True
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = app.openapi()["components"]["schemas"][name]
    return schema.get("type") == "array" or "items" in schema.get("properties", {})


def unbounded_parameters(operation: dict[str, Any]) -> list[str]:
    """Region parameters without the 12-digit pattern, integers without both bounds."""
    wrong = []
    for parameter in parameters(operation):
        schema, name = _schema(parameter), parameter["name"]
        is_region = name in ("region", "parent", "code", "region_code")
        if is_region and schema.get("pattern") != "^[0-9]{12}$":
            wrong.append(f"{name}: no 12-digit pattern")
        if schema.get("type") == "integer" and ("maximum" not in schema or "minimum" not in schema):
            wrong.append(f"{name}: integer without minimum and maximum")
    return wrong


def fill(
    path: str,
    operation: dict[str, Any],
    path_values: dict[str, str],
    query_values: dict[str, str],
) -> tuple[str, dict[str, str]]:
    """The URL and query for calling the operation. A record's id the tables do not know is
    a fresh UUID (no such record); any other required parameter the tables do not know fails
    the test: a new route must be taught to the walk, not skipped by it."""
    query: dict[str, str] = {}
    for parameter in parameters(operation):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            value = path_values.get(name)
            if value is None and (name == "id" or name.endswith("_id")):
                value = str(uuid4())
            assert value is not None, f"{path}: no value for path parameter {name}"
            path = path.replace("{" + name + "}", value)
        elif where == "query" and name in query_values:
            query[name] = query_values[name]
        elif parameter.get("required"):
            raise AssertionError(f"{path}: no value for required query parameter {name}")
    return path, query


async def seed(
    registry: Any,
    job_ctx: dict[str, Any],
    *,
    county: str,
    village: str,
    area: str,
    household_no: str,
    born: date,
    sequence: int,
) -> dict[str, str]:
    """One household with a member, economics, guarantees, a measure, a cadre paired with it
    and an import, written by the county's officer: what the walks look for."""
    officer = registry.as_(Role.county_officer, county)
    number = idnumber.make(area, born, sequence)
    created = await officer.post(
        "/v1/households",
        json=household(
            village,
            household_no,
            members=[member("head", id_number=number, name="杨秀英")],
            phone="13912345678",
            external_ids={"civil_affairs": f"CA-{household_no}"},
        ),
    )
    assert created.status_code == 201, created.text
    home = created.json()
    household_id = home["id"]
    income = {"wage": "18000.00", "operating": "3500", "property": "0", "transfer": "2400"}
    year = await officer.put(f"/v1/households/{household_id}/economics/2024", json=income)
    assert year.status_code == 200, year.text
    cadre = await officer.post(
        "/v1/cadres", json={"name": "李书记", "region_code": county, "rank": "county"}
    )
    assert cadre.status_code == 201, cadre.text
    cadre_id = cadre.json()["id"]
    paired = await officer.post(
        f"/v1/cadres/{cadre_id}/households", json={"household_ids": [household_id]}
    )
    assert paired.status_code in (200, 201), paired.text
    measure = await officer.post(
        f"/v1/households/{household_id}/measures",
        json={"kind": "employment", "start": "2025-01-01", "responsible_cadre_id": cadre_id},
    )
    assert measure.status_code == 201, measure.text
    upload = await officer.post(
        "/v1/imports",
        files={"file": ("ledger.csv", b"\xef\xbb\xbfnot,a,ledger\n")},
        data={"kind": "households"},
    )
    assert upload.status_code == 202, upload.text
    import_id = upload.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    return {
        "household_id": household_id,
        "member_id": home["members"][0]["id"],
        "cadre_id": cadre_id,
        "import_id": import_id,
        "household_no": household_no,
        "id_number": number,
        "birth_date": born.isoformat(),
    }

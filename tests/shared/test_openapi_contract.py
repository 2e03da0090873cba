"""Each service's OpenAPI document is a contract a generated client can rely on: valid,
stable readable operationIds, problems declared as they are sent, and "Authorize" pointing at
the registry wherever the docs are opened."""

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from pydantic import BaseModel

from shared.errors import PROBLEM_JSON
from shared.openapi import package_version
from shared.settings import Settings
from tests.conftest import ApiClient

SERVICES = ["registry", "monitoring", "funds"]
_OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _app(name: str, settings: Settings) -> FastAPI:
    module = __import__(f"services.{name}.app", fromlist=["create_app"])
    return module.create_app(settings)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_document_is_valid_openapi(service: str, settings: Settings) -> None:
    validate(_app(service, settings).openapi())


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_readable_unique_and_short(service: str, settings: Settings) -> None:
    ids = [op["operationId"] for _, _, op in _operations(_app(service, settings).openapi())]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert _OPERATION_ID.match(operation_id), operation_id


# A generated client's method names: a verb, then what it acts on.
_VERBS = [
    "get",
    "list",
    "create",
    "set",
    "update",
    "delete",
    "search",
    "export",
    "upsert",
    "sync",
    "pair",
    "depart",
    "change",
    "revoke",
    "rotate",
    "approve",
    "refuse",
    "confirm",
    "request",
    "retry",
    "reset",
    "replay",
    "validate",
    "check",
    "verify",
    "preview",
]
_NAMED = {
    "registry": {
        ("post", "/v1/auth/token"): "create_token",
        ("get", "/v1/me"): "get_me",
        ("put", "/v1/households/{household_id}/economics/{year}"): "set_household_economics",
        ("get", "/v1/households/{household_id}/history"): "get_household_history",
    },
    "monitoring": {
        ("post", "/v1/cases/{case_id}/actions"): "create_case_action",
        ("get", "/v1/stats/overview"): "get_stats_overview",
        ("post", "/v1/declarations"): "create_declaration",
    },
    "funds": {
        ("post", "/v1/projects/{project_id}/actions"): "create_project_action",
        ("post", "/v1/assets/{asset_id}/distributions"): "create_distribution",
        ("get", "/v1/reports/funds"): "get_fund_report",
    },
}


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_say_what_they_do(service: str, settings: Settings) -> None:
    spec = _app(service, settings).openapi()
    for path, method, op in _operations(spec):
        if path.startswith("/v1/"):
            assert op["operationId"].split("_")[0] in _VERBS, (path, method, op["operationId"])
    for (method, path), operation_id in _NAMED[service].items():
        assert spec["paths"][path][method]["operationId"] == operation_id


@pytest.mark.parametrize("service", SERVICES)
def test_problems_are_declared_as_problem_json(service: str, settings: Settings) -> None:
    spec = _app(service, settings).openapi()
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            # The DCI paths answer the standard's acknowledgement (ERR with its error code).
            if int(status) < 400 or path == "/readyz" or path.startswith("/dci/registry/"):
                continue
            content = response["content"]
            assert list(content) == [PROBLEM_JSON], (path, method, status)
            assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("service", SERVICES)
def test_token_url_version_and_servers(service: str, settings: Settings) -> None:
    public = settings.model_copy(
        update={"public_registry_url": "https://povguard.gz.gov.cn/registry"}
    )
    spec = _app(service, public).openapi()
    flows = spec["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "https://povguard.gz.gov.cn/registry/v1/auth/token"
    assert spec["info"]["version"] == package_version()
    assert spec["servers"][0]["url"] == public.public_url(service)


async def test_readyz_answers_the_shape_it_declares(settings: Settings) -> None:
    from shared.app import Readiness

    async with ApiClient(_app("funds", settings), settings) as client:
        answer = await client.get("/readyz")  # no lifespan: the database is not wired
    assert answer.status_code == 503
    Readiness.model_validate(answer.json())
    assert answer.json()["status"] == "not ready"


def _enums(spec: dict[str, Any]) -> list[tuple[str, list[Any], str]]:
    """Every enum of the document with the description a reader sees beside it: component
    schemas, their properties (inline ``Literal`` fields) and query parameters."""
    found = []
    for name, schema in spec["components"]["schemas"].items():
        if "enum" in schema:
            found.append((name, schema["enum"], schema.get("description", "")))
        for prop, sub in schema.get("properties", {}).items():
            for option in [sub, *sub.get("anyOf", [])]:
                if "enum" in option:
                    text = sub.get("description", "") + option.get("description", "")
                    found.append((f"{name}.{prop}", option["enum"], text))
    for path, method, op in _operations(spec):
        for parameter in op.get("parameters", []):
            schema = parameter.get("schema", {})
            for option in [schema, *schema.get("anyOf", [])]:
                if "enum" in option:
                    text = parameter.get("description", "") + schema.get("description", "")
                    found.append((f"{method} {path} {parameter['name']}", option["enum"], text))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_says_what_it_does(service: str, settings: Settings) -> None:
    spec = _app(service, settings).openapi()
    undescribed = [
        (method, path)
        for path, method, op in _operations(spec)
        if path.startswith("/v1/") and len(op.get("description", "")) < 40
    ]
    assert not undescribed


@pytest.mark.parametrize("service", SERVICES)
def test_every_enum_value_is_explained(service: str, settings: Settings) -> None:
    unexplained = [
        (where, value)
        for where, values, description in _enums(_app(service, settings).openapi())
        for value in values
        if f"`{value}`" not in description
    ]
    assert not unexplained


def test_policy_codes_are_explained_in_chinese(settings: Settings) -> None:
    spec = _app("monitoring", settings).openapi()["components"]["schemas"]
    case = spec["CaseRead"]["properties"]
    assert "边缘易致贫户" in json.dumps(case["monitored_type"], ensure_ascii=False)
    assert "`0201`" in json.dumps(case["risk_types"], ensure_ascii=False)
    assert "`in_notice`" in json.dumps(case["stage"], ensure_ascii=False)
    assert "`income_below_line`" in spec["AlertRead"]["properties"]["rule"]["description"]


def _main_create_bodies() -> list[type[BaseModel]]:
    from services.funds.assets.schemas import AssetCreate
    from services.funds.funding.schemas import AllocationCreate, FundCreate
    from services.funds.payments.schemas import PaymentCreate
    from services.funds.projects.schemas import ProjectCreate
    from services.monitoring.cases.schemas import CaseActionRequest, CaseCreate
    from services.monitoring.declarations.schemas import DeclarationCreate
    from services.registry.households.schemas import HouseholdCreate, MemberCreate
    from shared.contracts.registry import MeasureCreate

    return [
        HouseholdCreate,
        MemberCreate,
        MeasureCreate,
        CaseCreate,
        CaseActionRequest,
        DeclarationCreate,
        FundCreate,
        AllocationCreate,
        ProjectCreate,
        PaymentCreate,
        AssetCreate,
    ]


@pytest.mark.parametrize("model", _main_create_bodies(), ids=lambda m: m.__name__)
def test_main_create_bodies_carry_an_example_that_is_valid(model: type[BaseModel]) -> None:
    examples = model.model_json_schema().get("examples")
    assert examples
    for example in examples:
        model.model_validate(example)

"""Every operation of each service's OpenAPI document, fuzzed by schemathesis within a bounded
budget: whatever a client sends that the document allows, the answer is never a 5xx, and it
matches what the document declares (status, media type, schema).

The apps run with their real lifespan on a scratch database of their own (the fuzzer commits
what it creates, which must not leak into the other tests' database)."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from povguard.scratch import migrated_database
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import token_for
from tests.shared.served import served

SERVICES = ["registry", "monitoring", "funds"]
GUIZHOU = "520000000000"
# A few examples per operation keeps the three documents (~150 operations) near a minute.
EXAMPLES = int(os.environ.get("POVGUARD_FUZZ_EXAMPLES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_settings(servers: tuple[str, str], settings: Settings) -> Iterator[Settings]:
    with migrated_database(servers[0], f"povguard_fuzz_{os.getpid()}") as url:
        yield settings.model_copy(
            update={"database_url": url, "queue_name": f"povguard:fuzz:{os.getpid()}"}
        )


def _fuzz(base_url: str, token: str) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document itself is not valid OpenAPI
        operation = result.ok()
        # What the document allows, and what it refuses (which must be a 4xx, never a 5xx).
        strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=base_url, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        before = calls
        try:
            run()
        except Exception as exc:  # one report for every operation, not the first failure only
            failures.append(f"{operation.label}: {exc}")
        if calls == before:
            failures.append(f"{operation.label}: no request was sent")
    return calls, failures


@pytest.fixture(scope="module")
def registry_url(fuzz_settings: Settings) -> Iterator[str]:
    """The registry, served for the fuzzer and for the services that call it."""
    from services.registry.app import create_app

    with served(create_app(fuzz_settings)) as base_url:
        yield base_url


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_as_documented(
    service: str, fuzz_settings: Settings, registry_url: str
) -> None:
    token = token_for(fuzz_settings, Role.province_admin, GUIZHOU, sub="admin")
    if service == "registry":
        _, failures = _fuzz(registry_url, token)
    else:
        module = __import__(f"services.{service}.app", fromlist=["create_app"])
        app = module.create_app(fuzz_settings.model_copy(update={"registry_url": registry_url}))
        with served(app) as base_url:
            _, failures = _fuzz(base_url, token)
    assert not failures, "\n\n".join(failures)

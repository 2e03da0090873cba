"""The OpenAPI documents as the servers behave (issue 21 item 6): a 405 names every method
of the address; a literal address is not taken for a templated one; what the header handling
answers is documented (409 ``idempotency_key.reused``, ``If-Match`` required where its absence
is a 428, a blank ``Idempotency-Key`` refused by the schema); region parameters carry the
12-digit pattern; a number is not a date-time."""

from typing import Any

import pytest

from shared.auth import Role
from shared.settings import Settings
from tests.conftest import XINGYI, ApiClient
from tests.contract.walk import SERVICES, create_app, operations
from tests.registry.walk import _schema, unbounded_parameters


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/households", "GET, POST"),
        ("DELETE", "/v1/households", "GET, POST"),
        ("PATCH", "/v1/households/search", "POST"),
        ("GET", "/v1/households/search", "POST"),
        ("DELETE", "/v1/imports/template", "GET"),
        ("PUT", "/v1/changes/position", "GET"),
    ],
)
async def test_a_405_names_every_method_of_the_address(
    registry: ApiClient, method: str, path: str, allow: str
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.request(method, path)
    assert answer.status_code == 405, answer.text
    assert answer.headers["Allow"] == allow
    assert answer.json()["code"] == "method_not_allowed"


async def test_a_malformed_id_is_still_a_422(registry: ApiClient) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.get("/v1/households/not-a-uuid")
    assert answer.status_code == 422


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_says_what_the_headers_answer(
    service: str, settings: Settings, session_maker: Any, queue: Any
) -> None:
    app = create_app(service, settings, session_maker, queue)
    for path, method, operation in operations(app):
        where = f"{method.upper()} {path}"
        assert not unbounded_parameters(operation), (where, unbounded_parameters(operation))
        for parameter in operation.get("parameters", []):
            schema = _schema(parameter)
            if parameter["name"] == "Idempotency-Key":
                assert "409" in operation["responses"], where
                assert schema["minLength"] == 1, where
                assert schema["pattern"] == r"\S", where
            if parameter["name"] == "If-Match" and "428" in operation["responses"]:
                assert parameter["required"] is True, where


@pytest.mark.parametrize("key", ["", " ", "\t"])
async def test_a_blank_idempotency_key_is_refused(
    registry: ApiClient, villages: list[str], key: str
) -> None:
    from tests.registry.helpers import household

    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.post(
        "/v1/households", json=household(villages[0]), headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_a_reused_idempotency_key_is_the_documented_409(
    registry: ApiClient, villages: list[str]
) -> None:
    from tests.registry.helpers import household

    officer = registry.as_(Role.county_officer, XINGYI)
    key = {"Idempotency-Key": "k-1"}
    first = await officer.post("/v1/households", json=household(villages[0], "I-1"), headers=key)
    assert first.status_code == 201
    other = await officer.post("/v1/households", json=household(villages[0], "I-2"), headers=key)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key.reused"
    documented = registry.app.openapi()["paths"]["/v1/households"]["post"]["responses"]
    assert "409" in documented


@pytest.mark.parametrize("since", ["0.5", "1700000000", "-1", "1e9"])
async def test_a_number_is_not_a_date_time(registry: ApiClient, since: str) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    answer = await officer.get("/v1/audit", params={"since": since})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "validation.datetime_parsing"
    ok = await officer.get("/v1/audit", params={"since": "2026-12-01T00:00:00+08:00"})
    assert ok.status_code == 200


async def test_a_number_is_not_a_departure_date(registry: ApiClient) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    from uuid import uuid4

    answer = await officer.delete(
        f"/v1/members/{uuid4()}", params={"reason": "moved", "departed_on": "0"}
    )
    assert answer.status_code == 422, answer.text

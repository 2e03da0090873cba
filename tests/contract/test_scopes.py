"""Client scopes on every operation (issue 19 item 3, issue 21 item 7): each signed-in
operation of the three services declares in its OpenAPI document the one scope a client token
needs; a client token without it (or with ``scope=""``) is a 403 ``scope.missing`` with a
Chinese message, whatever the operation; people's tokens are unchanged."""

from typing import Any
from uuid import uuid4

import pytest

from shared.auth import Principal, Role, Scope, issue_token
from shared.scopes import DESCRIPTIONS
from shared.settings import Settings
from tests.conftest import XINGYI, ApiClient
from tests.contract.walk import SERVICES, create_app, operations, url

_SCOPE_CODES = {"scope.missing", "scope.not_for_clients"}


def _client_token(settings: Settings, scopes: set[str]) -> str:
    principal = Principal(
        sub=f"client:{uuid4()}",
        role=Role.county_officer,
        region_code=XINGYI,
        scopes=frozenset(scopes),
        client_id=str(uuid4()),
    )
    return issue_token(settings, principal)


@pytest.mark.parametrize("service", SERVICES)
def test_every_signed_in_operation_declares_its_client_scope(
    service: str, settings: Settings, session_maker: Any, queue: Any
) -> None:
    app = create_app(service, settings, session_maker, queue)
    spec = app.openapi()
    flows = spec["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert set(flows) == {"password", "clientCredentials"}
    assert set(flows["clientCredentials"]["scopes"]) == {s.value for s in Scope}
    assert set(DESCRIPTIONS) == set(Scope)
    for path, method, operation in operations(app):
        if "security" not in operation:
            continue  # public: the probes, the token endpoint, villagers' declarations
        [requirement] = operation["security"]
        assert list(requirement) == ["OAuth2"], (method, path)
        assert len(requirement["OAuth2"]) == 1, f"{method.upper()} {path}: add it to scopes.py"
        assert requirement["OAuth2"][0] in flows["clientCredentials"]["scopes"]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_client_token_needs_the_operations_scope_everywhere(
    service: str, settings: Settings, session_maker: Any, queue: Any
) -> None:
    app = create_app(service, settings, session_maker, queue)
    async with ApiClient(app, settings) as client:
        client.headers.pop("Accept-Language")  # the default: Chinese
        for path, method, operation in operations(app):
            if "security" not in operation:
                continue
            [needed] = operation["security"][0]["OAuth2"]
            where = f"{method.upper()} {path}"
            for scopes in (set(), {"changes:read"} - {needed}, set(Scope) - {needed}):
                token = _client_token(settings, {str(s) for s in scopes})
                answer = await client.request(
                    method.upper(),
                    url(path, operation),
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == 403, (where, scopes, answer.text)
                if path.startswith("/dci/"):  # the DCI standard's own error envelope
                    assert "err.request.forbidden" in answer.text, (where, answer.text)
                    continue
                assert answer.json()["code"] == "scope.missing", where
                assert "该客户端未获授权范围" in answer.json()["detail"], where
            token = _client_token(settings, {needed})
            answer = await client.request(
                method.upper(), url(path, operation), headers={"Authorization": f"Bearer {token}"}
            )
            if answer.status_code == 403:
                assert answer.json()["code"] not in _SCOPE_CODES, (where, answer.text)


async def test_a_narrow_client_cannot_create_a_household(
    registry: ApiClient, villages: list[str]
) -> None:
    from tests.registry.helpers import household

    for scopes in ({"changes:read"}, set()):
        token = _client_token(registry.settings, scopes)
        answer = await registry.post(
            "/v1/households",
            json=household(villages[0]),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 403
        assert answer.json()["code"] == "scope.missing"
    token = _client_token(registry.settings, {"households:write"})
    answer = await registry.post(
        "/v1/households",
        json=household(villages[0]),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text


async def test_a_persons_token_needs_no_scope(registry: ApiClient) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    assert (await officer.get("/v1/households")).status_code == 200

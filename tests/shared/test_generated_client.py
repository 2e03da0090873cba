"""A typed client generated from the registry's OpenAPI document (openapi-python-client) works
against the registry: sign in, list, and errors parsed as the document's ``Problem`` (with its
``code`` and field errors), as a client developer would use it."""

import importlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.settings import Settings
from tests.conftest import VILLAGE_A, XINGYI, ApiClient, token_for
from tests.registry import helpers

# The generator pins typer below the version the CLI uses, so it runs in uv's own tool
# environment rather than in the dev extra.
GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "povguard_registry_client"


@pytest.fixture(scope="module")
def generated(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    from services.registry.app import create_app

    root = tmp_path_factory.mktemp("client")
    document = root / "registry.json"
    document.write_text(json.dumps(create_app(settings).openapi()), encoding="utf-8")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    subprocess.run(
        [uv, "tool", "run", "--quiet", "--from", GENERATOR, "openapi-python-client", "generate",
         "--path", str(document), "--output-path", str(root / PACKAGE), "--meta", "none"],
        check=True,
        cwd=root,
        timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _client(generated: ModuleType, app: Any, token: str | None = None) -> Any:
    """The generated client, speaking to the app in-process through an httpx ASGI transport."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Accept-Language": "en"}
    kwargs: dict[str, Any] = {"base_url": "http://test", "headers": headers}
    if token is None:
        client = generated.Client(**kwargs)
    else:
        client = generated.AuthenticatedClient(token=token, **kwargs)
    client.set_async_httpx_client(
        httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
        if token is None
        else httpx.AsyncClient(
            transport=transport,
            base_url="http://test",
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
    )
    return client


async def test_generated_client_signs_in_lists_and_parses_problems(
    generated: ModuleType, registry: ApiClient, villages: list[str], settings: Settings
) -> None:
    models = _module("models")
    create_user = _module("api.auth.create_user")
    token_api = _module("api.auth.create_token")
    create_household = _module("api.households.create_household")
    list_households = _module("api.households.list_households")
    get_household = _module("api.households.get_household")

    admin = _client(
        generated, registry.app, token_for(settings, Role.province_admin, "520000000000")
    )
    user = await create_user.asyncio(
        client=admin,
        body=models.UserCreate(
            username="county-smoke",
            password="a long enough password 1",
            role=models.Role.COUNTY_OFFICER,
            region_code=XINGYI,
        ),
    )
    assert isinstance(user, models.UserRead)

    # Sign in with the password form, then use the token it answers.
    token = await token_api.asyncio(
        client=_client(generated, registry.app),
        body=models.TokenRequest(username="county-smoke", password="a long enough password 1"),
    )
    assert isinstance(token, models.Token), token
    officer = _client(generated, registry.app, token.access_token)

    created = await create_household.asyncio(
        client=officer, body=models.HouseholdCreate.from_dict(helpers.household(VILLAGE_A))
    )
    # HouseholdRead with the check at entry's possible duplicates (issue 26).
    assert isinstance(created, models.HouseholdCreated), created
    assert created.possible_duplicates == []
    page = await list_households.asyncio(client=officer, region=VILLAGE_A)
    assert isinstance(page, models.PageHouseholdSummary)
    assert [item.id for item in page.items] == [created.id]

    # A 404 is the document's Problem, with its stable code.
    missing = await get_household.asyncio_detailed(client=officer, household_id=uuid.uuid4())
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem)
    assert missing.parsed.status == 404
    assert missing.parsed.code.endswith("not_found")

    # A 422 names the refused field.
    bad = helpers.household(VILLAGE_A, household_no="H0002")
    bad["members"][0]["id_number"] = "522301198005170000"
    refused = await create_household.asyncio_detailed(
        client=officer, body=models.HouseholdCreate.from_dict(bad)
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code
    fields = [error.field for error in refused.parsed.errors]
    assert any("id_number" in field for field in fields), fields

"""Funds against the real registry app (in process, over ``httpx.ASGITransport``): a
household created in the registry is accepted as a beneficiary and traced."""

import httpx
import pytest

from shared.auth import Role
from shared.registry_client import RegistryClient
from tests.conftest import ApiClient, wire_app
from tests.funds.conftest import VILLAGE_A, XINGYI, county, county_fund


@pytest.fixture
async def funds_on_registry(settings, session_maker, queue, registry, villages):
    from services.funds.app import create_app

    app = wire_app(create_app(settings), session_maker, queue)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=registry.app))
    app.state.registry = RegistryClient(http, settings, base_url="http://registry")
    async with ApiClient(app, settings) as client:
        yield client
    await http.aclose()


async def test_registry_household_becomes_a_beneficiary(funds_on_registry, registry) -> None:
    cadre = registry.as_(Role.county_officer, XINGYI)
    created = await cadre.post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": "5223011000019999",
            "category": "poverty_alleviated",
            "members": [{"name": "王小明", "id_number": "522301198005170010", "relation": "head"}],
        },
    )
    assert created.status_code == 201, created.text
    household_id = created.json()["id"]
    fund = await county_fund(funds_on_registry)
    project = await county(funds_on_registry).post(
        "/v1/projects",
        json={
            "name": "联调项目",
            "county_code": XINGYI,
            "kind": "industry",
            "budget": "10.00",
            "fund_ids": [fund["id"]],
            "beneficiary_household_ids": [household_id],
        },
    )
    assert project.status_code == 201, project.text
    trace = await county(funds_on_registry).get(f"/v1/trace/households/{household_id}")
    assert trace.status_code == 200, trace.text
    assert trace.json()["projects"][0]["id"] == project.json()["id"]

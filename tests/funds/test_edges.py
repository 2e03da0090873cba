"""Edges: scope, unknown households, the registry being down, bad amounts everywhere."""

from uuid import uuid4

import httpx

from shared.registry_client import RegistryClient
from tests.funds.conftest import (
    PUAN,
    QIANXINAN,
    VILLAGE_A,
    allocate,
    approved_project,
    county,
    county_fund,
    days_ago,
    make_fund,
    make_project,
    province,
)


async def test_another_county_cannot_pay_or_trace(funds, registry_stub) -> None:
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], households=[household])
    other = county(funds, PUAN)
    body = {"amount": "1.00", "payee": "x", "voucher_no": "V", "paid_on": days_ago(0)}
    assert (
        await other.post(f"/v1/projects/{project['id']}/payments", json=body)
    ).status_code == 404
    assert (await other.get(f"/v1/projects/{project['id']}/payments")).status_code == 404
    assert (await other.get(f"/v1/trace/funds/{fund['id']}")).json()["projects"] == []
    assert (await county(funds).get(f"/v1/trace/households/{uuid4()}")).status_code == 404


async def test_allocation_amounts_are_checked(funds) -> None:
    admin = province(funds)
    fund = await make_fund(admin, amount="10.00")
    for amount in ("1.001", "-1.00", 0.1, "0.00"):
        response = await allocate(admin, fund["id"], QIANXINAN, amount)
        assert response.status_code == 422, amount
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await admin.post(
        "/v1/allocations",
        json={"fund_id": str(uuid4()), "region_code": QIANXINAN, "amount": "1.00"},
    )
    assert missing.status_code == 404
    full_width = QIANXINAN[:-1] + "０"  # pydantic's pattern \d would take it
    assert (await allocate(admin, fund["id"], full_width, "1.00")).status_code == 422


async def test_registry_down_is_a_503_problem_not_a_500(funds) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fund = await county_fund(funds)
    funds.app.state.registry = RegistryClient(
        httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
        funds.settings,
        base_url="http://registry",
    )
    response = await make_project(funds, [fund["id"]], households=[uuid4()])
    assert response.status_code == 503
    assert response.json()["title"] == "Service unavailable"
    assert (await county(funds).get(f"/v1/trace/households/{uuid4()}")).status_code == 503

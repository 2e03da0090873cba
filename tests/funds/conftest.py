"""Funds test fixtures: the funds app on the test transaction, and a registry reachable
over HTTP (``httpx.ASGITransport``) for the households funds checks and traces.

The registry's household endpoints are built by another module; so that these tests depend
only on the published contract (api.md: ``GET /v1/households/{id}`` with ``region_code``,
``GET /v1/households/{id}/measures`` with ``items``), ``registry_stub`` is a small in-process
registry app serving exactly that contract, scoped by the caller's token like the real one."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared.auth import Role, decode_token
from shared.contracts.registry import HouseholdCategory, HouseholdRef, MeasureRead
from shared.registry_client import RegistryClient
from shared.settings import Settings
from tests.conftest import ApiClient, wire_app

GUIZHOU = "520000000000"
QIANXINAN = "522300000000"
XINGYI = "522301000000"
XINGYI_TOWNSHIP = "522301100000"
VILLAGE_A = "522301100001"
VILLAGE_B = "522301100002"
PUAN = "522323000000"
PUAN_VILLAGE = "522323100001"


class RegistryStub:
    """Households and measures as the registry API answers them: the contract's shapes
    (``HouseholdRef``, ``MeasureRead``), so the stub cannot drift from the registry."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.households: dict[UUID, HouseholdRef] = {}
        self.measures: dict[UUID, list[MeasureRead]] = {}
        self.app = self._build()

    def add_household(self, region_code: str = VILLAGE_A, household_no: str | None = None) -> UUID:
        household_id = uuid4()
        self.households[household_id] = HouseholdRef(
            id=household_id,
            region_code=region_code,
            household_no=household_no or f"H{len(self.households) + 1:06d}",
            category=HouseholdCategory.poverty_alleviated,
            version=1,
        )
        self.measures[household_id] = []
        return household_id

    def add_measure(self, household_id: UUID, kind: str, amount: str | None, **extra: Any) -> None:
        household = self.households[household_id]
        self.measures[household_id].append(
            MeasureRead.model_validate(
                {
                    "id": uuid4(),
                    "household_id": household_id,
                    "region_code": household.region_code,
                    "kind": kind,
                    "description": "",
                    "start": date(2026, 1, 1),
                    "end": None,
                    "amount": amount,
                    "project_id": None,
                    "responsible_cadre_id": None,
                    "case_id": None,
                    "version": 1,
                    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
                    **extra,
                }
            )
        )

    def _build(self) -> FastAPI:
        app = FastAPI()

        def visible(request: Request, household_id: UUID) -> HouseholdRef | None:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            principal = decode_token(self.settings, token)
            household = self.households.get(household_id)
            if household is None or not principal.covers(household.region_code):
                return None
            return household

        @app.get("/v1/households/{household_id}")
        async def get_household(household_id: UUID, request: Request) -> JSONResponse:
            household = visible(request, household_id)
            if household is None:
                return JSONResponse({"status": 404, "title": "Not found"}, status_code=404)
            # The registry answers the whole household; a reader keeps what it names.
            return JSONResponse(household.model_dump(mode="json") | {"members": []})

        @app.get("/v1/households/{household_id}/measures")
        async def list_measures(household_id: UUID, request: Request) -> JSONResponse:
            if visible(request, household_id) is None:
                return JSONResponse({"status": 404, "title": "Not found"}, status_code=404)
            items = [m.model_dump(mode="json") for m in self.measures[household_id]]
            return JSONResponse({"items": items, "next_cursor": None})

        return app


@pytest.fixture
def registry_stub(settings: Settings) -> RegistryStub:
    return RegistryStub(settings)


def registry_client_for(stub: RegistryStub, settings: Settings) -> RegistryClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=stub.app))
    return RegistryClient(http, settings, base_url="http://registry")


@pytest.fixture
async def funds(
    settings: Settings, session_maker: Any, queue: Any, registry_stub: RegistryStub
) -> AsyncIterator[ApiClient]:
    from services.funds.app import create_app

    app = wire_app(create_app(settings), session_maker, queue)
    app.state.registry = registry_client_for(registry_stub, settings)
    async with ApiClient(app, settings) as client:
        yield client
    await app.state.registry.http.aclose()


def province(funds: ApiClient) -> ApiClient:
    return funds.as_(Role.province_admin, GUIZHOU)


def county(funds: ApiClient, code: str = XINGYI) -> ApiClient:
    return funds.as_(Role.county_officer, code)


def second_county(funds: ApiClient, code: str = XINGYI) -> ApiClient:
    """Another county officer of the same county: duties kept apart need two accounts (who
    proposes a project does not approve it, who records a large payment does not confirm
    it, who requests a disposal does not approve it)."""
    return funds.as_(Role.county_officer, code, sub=f"second.county_officer@{code}")


def township(funds: ApiClient, code: str = XINGYI_TOWNSHIP) -> ApiClient:
    return funds.as_(Role.township_officer, code)


async def make_fund(
    client: ApiClient, amount: str = "1000000.00", source: str = "central", year: int = 2026
) -> dict[str, Any]:
    response = await client.post(
        "/v1/funds",
        json={
            "source": source,
            "fiscal_year": year,
            "amount": amount,
            "document_no": f"黔财农〔{year}〕{uuid4().hex[:8]}号",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def allocate(
    client: ApiClient,
    fund_id: str,
    region: str,
    amount: str | float,  # a JSON number too: the API must refuse it
    source: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"fund_id": fund_id, "region_code": region, "amount": amount}
    if source:
        body["from_region_code"] = source
    return await client.post("/v1/allocations", json=body)


def days_ago(n: int) -> str:
    from shared.clock import today

    return (today() - timedelta(days=n)).isoformat()


async def county_fund(
    funds: ApiClient, amount: str = "100000.00", county_code: str = XINGYI
) -> dict[str, Any]:
    """A central fund allocated province -> prefecture -> county."""
    admin = province(funds)
    fund = await make_fund(admin, amount=amount)
    assert (await allocate(admin, fund["id"], QIANXINAN, amount)).status_code == 201
    assert (await allocate(admin, fund["id"], county_code, amount, QIANXINAN)).status_code == 201
    return fund


async def make_project(
    funds: ApiClient,
    fund_ids: list[str],
    budget: str = "1000.00",
    households: list[UUID] | None = None,
    kind: str = "industry",
    county_code: str = XINGYI,
) -> httpx.Response:
    return await county(funds, county_code).post(
        "/v1/projects",
        json={
            "name": "精品水果种植基地",
            "county_code": county_code,
            "kind": kind,
            "budget": budget,
            "fund_ids": fund_ids,
            "beneficiary_household_ids": [str(h) for h in households or []],
        },
    )


async def move_notice_back(client: ApiClient, notice_id: str, days: int) -> None:
    """Let ``days`` pass for a notice: move its window that far into the past, as the clock
    would. (A notice is posted starting today at the earliest, so a test that needs one
    already over posts it today and moves it back.)"""
    async with client.app.state.session_maker() as session:
        await session.execute(
            text(
                "UPDATE funds.notices SET starts_on = starts_on - CAST(:days AS integer), "
                "ends_on = ends_on - CAST(:days AS integer) WHERE id = :id"
            ),
            {"days": days, "id": notice_id},
        )
        await session.commit()


async def post_notice(
    funds: ApiClient, project_id: str, purpose: str = "plan", start: int = 15, end: int = 1
) -> httpx.Response:
    """A notice that ran from ``start`` days ago to ``end`` days ago (negative: days ahead):
    posted today for as many days, then moved back ``start`` days. The response shows the
    dates as posted."""
    response = await county(funds).post(
        "/v1/notices",
        json={
            "subject_type": "project",
            "subject_id": project_id,
            "purpose": purpose,
            "starts_on": days_ago(0),
            "ends_on": days_ago(end - start),
            "content": "项目公示：精品水果种植基地",
        },
    )
    if response.status_code == 201 and start > 0:
        await move_notice_back(funds, response.json()["id"], start)
    return response


async def approved_project(
    funds: ApiClient, fund_id: str, budget: str = "1000.00", households: list[UUID] | None = None
) -> dict[str, Any]:
    response = await make_project(funds, [fund_id], budget, households)
    assert response.status_code == 201, response.text
    project = response.json()
    assert (await post_notice(funds, project["id"])).status_code == 201
    approved = await second_county(funds).post(
        f"/v1/projects/{project['id']}/actions", json={"action": "approve"}
    )
    assert approved.status_code == 200, approved.text
    return approved.json()


async def completed_project(
    funds: ApiClient, fund_id: str, budget: str = "1000.00", households: list[UUID] | None = None
) -> dict[str, Any]:
    project = await approved_project(funds, fund_id, budget, households)
    path = f"/v1/projects/{project['id']}/actions"
    assert (await township(funds).post(path, json={"action": "start"})).status_code == 200
    done = await township(funds).post(path, json={"action": "complete"})
    assert done.status_code == 200
    return done.json()


async def make_asset(funds: ApiClient, project_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "project_id": project_id,
        "kind": "operating",
        "name": "光伏电站",
        "value": "800000.00",
        "owner_type": "village_collective",
        "owner_id": VILLAGE_A,
        "custodian": "丰都村股份经济合作社",
        "location": "丰都村二组",
    } | overrides
    response = await county(funds).post("/v1/assets", json=body)
    assert response.status_code == 201, response.text
    return response.json()

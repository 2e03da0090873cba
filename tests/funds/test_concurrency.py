"""Invariants under real concurrency: parallel requests on separate connections (not the
rolled-back test transaction), so the row locks are what keeps the money right.
These tests commit, so they work in their own county and delete what they wrote."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from services.funds.app import create_app
from shared.auth import Role
from shared.db import create_session_maker
from tests.conftest import ApiClient, wire_app
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    QIANXINAN,
    days_ago,
    move_notice_back,
    registry_client_for,
)


@pytest.fixture
async def live(settings, engine, queue, registry_stub) -> AsyncIterator[ApiClient]:
    app = wire_app(create_app(settings), create_session_maker(engine), queue)
    app.state.registry = registry_client_for(registry_stub, settings)
    created: dict[str, list[str]] = {"funds": [], "projects": []}
    app.state.created = created
    async with ApiClient(app, settings) as client:
        yield client
    await app.state.registry.http.aclose()
    async with engine.begin() as conn:
        await _cleanup(conn, created)


async def _cleanup(conn: Any, created: dict[str, list[str]]) -> None:
    projects, funds = created["projects"], created["funds"]
    # Payments, allocations and the audit log are append-only: their triggers refuse DELETE.
    # Only a superuser's replica session skips triggers; the test harness is one, a service's
    # role (deploy/database-roles.sql) is not. Confined to this transaction.
    await conn.execute(text("SET LOCAL session_replication_role = replica"))
    for sql in [
        "DELETE FROM funds.payments WHERE project_id::text = ANY(:p)",
        "DELETE FROM funds.project_events WHERE project_id::text = ANY(:p)",
        "DELETE FROM funds.project_beneficiaries WHERE project_id::text = ANY(:p)",
        "DELETE FROM funds.project_funds WHERE project_id::text = ANY(:p)",
        "DELETE FROM funds.notices WHERE subject_id::text = ANY(:p)",
        "DELETE FROM funds.projects WHERE id::text = ANY(:p)",
        "DELETE FROM funds.allocations WHERE fund_id::text = ANY(:f)",
        "DELETE FROM funds.funds WHERE id::text = ANY(:f)",
        "DELETE FROM funds.change_log WHERE region_code LIKE '5223%' OR region_code = '520000000000'",
    ]:
        await conn.execute(text(sql), {"p": projects, "f": funds})


async def _fund(live: ApiClient, amount: str) -> str:
    admin = live.as_(Role.province_admin, GUIZHOU)
    response = await admin.post(
        "/v1/funds",
        json={
            "source": "central",
            "fiscal_year": 2026,
            "amount": amount,
            "document_no": f"C-{id(live)}-{amount}",
        },
    )
    assert response.status_code == 201, response.text
    fund_id = response.json()["id"]
    live.app.state.created["funds"].append(fund_id)
    return fund_id


async def test_parallel_allocations_never_exceed_the_fund(live) -> None:
    fund_id = await _fund(live, "1000.00")
    admin = live.as_(Role.province_admin, GUIZHOU)

    async def one() -> int:
        body = {"fund_id": fund_id, "region_code": QIANXINAN, "amount": "300.00"}
        return (await admin.post("/v1/allocations", json=body)).status_code

    codes = await asyncio.gather(*(one() for _ in range(8)))
    assert sorted(codes) == [201, 201, 201, 409, 409, 409, 409, 409]
    fund = (await admin.get(f"/v1/funds/{fund_id}")).json()
    assert fund["allocated"] == "900.00"


async def _puan_fund(live: ApiClient, amount: str) -> str:
    """A fund allocated whole province -> prefecture -> Puan."""
    fund_id = await _fund(live, amount)
    admin = live.as_(Role.province_admin, GUIZHOU)
    for body in (
        {"fund_id": fund_id, "region_code": QIANXINAN, "amount": amount},
        {"fund_id": fund_id, "region_code": PUAN, "amount": amount, "from_region_code": QIANXINAN},
    ):
        assert (await admin.post("/v1/allocations", json=body)).status_code == 201
    return fund_id


async def _approved_project(live: ApiClient, fund_id: str, budget: str) -> str:
    officer = live.as_(Role.county_officer, PUAN)
    project = await officer.post(
        "/v1/projects",
        json={
            "name": "并发测试",
            "county_code": PUAN,
            "kind": "industry",
            "budget": budget,
            "fund_ids": [fund_id],
        },
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    live.app.state.created["projects"].append(project_id)
    notice = await officer.post(
        "/v1/notices",
        json={
            "subject_type": "project",
            "subject_id": project_id,
            "starts_on": days_ago(0),
            "ends_on": days_ago(-11),
            "content": "公示",
        },
    )
    assert notice.status_code == 201
    await move_notice_back(live, notice.json()["id"], 12)
    assert (
        await live.as_(Role.county_officer, PUAN, sub=f"second.county_officer@{PUAN}").post(
            f"/v1/projects/{project_id}/actions", json={"action": "approve"}
        )
    ).status_code == 200
    return project_id


async def _replica(reader: ApiClient, after: str) -> dict[str, dict[str, Any]]:
    """The funds feed applied in order, as a partner would: each event's state replaces the
    last, and one record's versions only ever increase along the feed."""
    replica: dict[str, dict[str, Any]] = {}
    while True:
        page = (await reader.get("/v1/changes", params={"after": after, "limit": 5})).json()
        for event in page["items"]:
            data, known = event["data"], replica.get(event["entity_id"])
            if known is not None and "version" in data:
                assert data["version"] > known["version"], event
            replica[event["entity_id"]] = data
        if not page["items"]:
            return replica
        after = page["next_cursor"]


async def test_parallel_payments_never_race_past_the_budget(live) -> None:
    officer = live.as_(Role.county_officer, PUAN)
    start = (await officer.get("/v1/changes/position")).json()["position"]
    fund_id = await _puan_fund(live, "5000.00")
    project_id = await _approved_project(live, fund_id, budget="1000.00")

    async def pay(n: int) -> int:
        body = {
            "amount": "150.00",
            "payee": "施工方",
            "voucher_no": f"P{n}",
            "paid_on": days_ago(0),
        }
        return (await officer.post(f"/v1/projects/{project_id}/payments", json=body)).status_code

    codes = await asyncio.gather(*(pay(n) for n in range(12)))
    assert codes.count(201) == 6  # 6 x 150.00 = 900.00; a seventh would make 1050.00
    assert codes.count(409) == 6
    read = (await officer.get(f"/v1/projects/{project_id}")).json()
    assert read["paid"] == "900.00"
    assert read["remaining"] == "100.00"
    # A replica built from the feed after these concurrent writers equals GET, field for
    # field: the project (its version bumped by every payment) and every payment.
    replica = await _replica(officer, start)
    assert replica[project_id] == read
    paid = (await officer.get(f"/v1/projects/{project_id}/payments")).json()["items"]
    assert len(paid) == 6
    assert all(replica[p["id"]] == p for p in paid)


async def test_parallel_payments_and_allocations_never_spend_a_fund_twice(live) -> None:
    # Puan holds 1000.00 of the fund; two projects budgeted far beyond it pay from it while
    # Puan also passes it on to townships, all at once.
    fund_id = await _puan_fund(live, "1000.00")
    projects = [await _approved_project(live, fund_id, budget="5000.00") for _ in range(2)]
    officer = live.as_(Role.county_officer, PUAN)

    async def pay(n: int) -> int:
        body = {
            "amount": "150.00",
            "payee": "施工方",
            "voucher_no": f"F{n}",
            "paid_on": days_ago(0),
        }
        path = f"/v1/projects/{projects[n % 2]}/payments"
        return (await officer.post(path, json=body)).status_code

    async def allocate(n: int) -> int:
        body = {
            "fund_id": fund_id,
            "region_code": f"5223231{n:02d}000",
            "amount": "150.00",
            "from_region_code": PUAN,
        }
        return (await officer.post("/v1/allocations", json=body)).status_code

    codes = await asyncio.gather(*(pay(n) for n in range(6)), *(allocate(n) for n in range(1, 7)))
    assert codes.count(201) == 6  # 6 x 150.00 = 900.00 of 1000.00; a seventh would make 1050.00
    assert codes.count(409) == 6
    fund = (await officer.get(f"/v1/funds/{fund_id}")).json()
    passed_on = sum(
        Decimal(a["amount"])
        for a in (await officer.get(f"/v1/funds/{fund_id}/allocations")).json()["items"]
        if a["from_region_code"] == PUAN
    )
    assert Decimal(fund["paid"]) + passed_on == Decimal("900.00")


async def test_parallel_onward_allocations_never_exceed_what_was_received(live) -> None:
    fund_id = await _fund(live, "900.00")
    admin = live.as_(Role.province_admin, GUIZHOU)
    officer = live.as_(Role.county_officer, PUAN)
    await admin.post(
        "/v1/allocations", json={"fund_id": fund_id, "region_code": QIANXINAN, "amount": "900.00"}
    )
    await admin.post(
        "/v1/allocations",
        json={
            "fund_id": fund_id,
            "region_code": PUAN,
            "amount": "500.00",
            "from_region_code": QIANXINAN,
        },
    )

    async def one(n: int) -> int:
        body = {
            "fund_id": fund_id,
            "region_code": f"5223231{n:02d}000",
            "amount": "120.00",
            "from_region_code": PUAN,
        }
        return (await officer.post("/v1/allocations", json=body)).status_code

    codes = await asyncio.gather(*(one(n) for n in range(1, 9)))
    assert codes.count(201) == 4  # 4 x 120.00 = 480.00 of the 500.00 Puan received
    assert codes.count(409) == 4

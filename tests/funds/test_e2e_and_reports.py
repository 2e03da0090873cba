"""The whole flow through HTTP, and the reports and traces adding up to the fen."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    QIANXINAN,
    VILLAGE_A,
    XINGYI,
    XINGYI_TOWNSHIP,
    allocate,
    county,
    days_ago,
    make_fund,
    move_notice_back,
    post_notice,
    province,
    second_county,
    township,
)


async def test_fund_to_household_and_back_adds_up_to_the_fen(funds, registry_stub) -> None:
    admin, officer, town = province(funds), county(funds), township(funds)
    households = [registry_stub.add_household(VILLAGE_A) for _ in range(3)]
    registry_stub.add_measure(households[0], "industry", "500.00")

    # Fund -> prefecture -> county.
    fund = await make_fund(admin, amount="300000.00")
    assert (await allocate(admin, fund["id"], QIANXINAN, "200000.00")).status_code == 201
    assert (await allocate(admin, fund["id"], XINGYI, "150000.00", QIANXINAN)).status_code == 201
    assert (await allocate(admin, fund["id"], PUAN, "50000.00", QIANXINAN)).status_code == 201

    # Project with beneficiaries, plan notice, approval.
    created = await officer.post(
        "/v1/projects",
        json={
            "name": "丰都村食用菌大棚",
            "county_code": XINGYI,
            "kind": "industry",
            "budget": "120000.00",
            "fund_ids": [fund["id"]],
            "beneficiary_household_ids": [str(h) for h in households],
        },
    )
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    actions = f"/v1/projects/{project_id}/actions"
    assert (await post_notice(funds, project_id, "plan", start=25, end=12)).status_code == 201
    assert (await second_county(funds).post(actions, json={"action": "approve"})).status_code == 200
    assert (await town.post(actions, json={"action": "start"})).status_code == 200

    # Payments: to the contractor, to each household's 一卡通, one corrected by a reversal.
    pay = f"/v1/projects/{project_id}/payments"
    entries = [
        {"amount": "100000.00", "payee": "兴义建工", "voucher_no": "记-001"},
        {
            "amount": "3333.33",
            "payee": "一卡通",
            "voucher_no": "记-002",
            "household_id": str(households[0]),
        },
        {
            "amount": "3333.33",
            "payee": "一卡通",
            "voucher_no": "记-003",
            "household_id": str(households[1]),
        },
        {
            "amount": "3333.34",
            "payee": "一卡通",
            "voucher_no": "记-004",
            "household_id": str(households[2]),
        },
        {
            "amount": "999.99",
            "payee": "一卡通",
            "voucher_no": "记-005",
            "household_id": str(households[2]),
        },
    ]
    ids = []
    for entry in entries:
        response = await officer.post(pay, json=entry | {"paid_on": days_ago(10)})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    reversal = await officer.post(
        pay, json={"reverses": ids[4], "voucher_no": "红-005", "paid_on": days_ago(9)}
    )
    assert reversal.status_code == 201
    # The contractor's 100,000.00 is above the policy's threshold: a second county account
    # confirms it before it counts as paid.
    confirmed = await second_county(funds).post(f"{pay}/{ids[0]}/confirm")
    assert confirmed.status_code == 200, confirmed.text

    # Completion, results notice, acceptance.
    assert (await town.post(actions, json={"action": "complete"})).status_code == 200
    # The results notice starts after completion; backdate completion via a notice window.
    results = await officer.post(
        "/v1/notices",
        json={
            "subject_type": "project",
            "subject_id": project_id,
            "purpose": "results",
            "starts_on": days_ago(0),
            "ends_on": days_ago(-9),
            "content": "验收结果公示",
        },
    )
    assert results.status_code == 201
    not_yet = await officer.post(actions, json={"action": "accept"})
    assert not_yet.status_code == 409
    await _end_notice(funds, results.json()["id"])
    accepted = await officer.post(actions, json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"

    # Asset, income, distribution by weights (per head).
    asset = await officer.post(
        "/v1/assets",
        json={
            "project_id": project_id,
            "kind": "operating",
            "name": "食用菌大棚",
            "value": "110000.00",
            "owner_type": "village_collective",
            "owner_id": VILLAGE_A,
            "custodian": "丰都村股份经济合作社",
            "location": "丰都村",
        },
    )
    assert asset.status_code == 201
    asset_id = asset.json()["id"]
    income = await officer.post(
        f"/v1/assets/{asset_id}/income", json={"period": "2026-H1", "amount": "1000.00"}
    )
    shares = [
        {"recipient_type": "household", "household_id": str(h), "weight": "2"} for h in households
    ]
    shares.append({"recipient_type": "public_welfare_job", "label": "大棚管护岗", "weight": "1"})
    distribution = await officer.post(
        f"/v1/assets/{asset_id}/distributions",
        json={"income_id": income.json()["id"], "shares": shares},
    )
    assert distribution.status_code == 201, distribution.text
    amounts = [s["amount"] for s in distribution.json()["shares"]]
    assert amounts == ["285.72", "285.71", "285.71", "142.86"]
    assert sum(Decimal(a) for a in amounts) == Decimal("1000.00")

    # Fund trace: every payment below the fund adds up to what was spent.
    trace = (await admin.get(f"/v1/trace/funds/{fund['id']}")).json()
    assert trace["paid"] == "110000.00"
    assert len(trace["allocations"]) == 3
    assert trace["allocated"] == "200000.00"
    [project] = trace["projects"]
    assert project["paid"] == "110000.00"
    assert sum(Decimal(p["amount"]) for p in project["payments"]) == Decimal("110000.00")
    assert (await admin.get(f"/v1/funds/{fund['id']}")).json()["paid"] == "110000.00"

    # Household trace: the reversal nets out; asset income and measures come along.
    third = (await officer.get(f"/v1/trace/households/{households[2]}")).json()
    assert [p["amount"] for p in third["payments"]] == ["3333.34", "999.99", "-999.99"]
    assert third["totals"] == {
        "payments": "3333.34",
        "asset_income": "285.71",
        "funds_total": "3619.05",
        "measures": "0.00",
    }
    first = (await officer.get(f"/v1/trace/households/{households[0]}")).json()
    assert first["projects"][0]["id"] == project_id
    assert first["totals"]["measures"] == "500.00"
    assert first["measures"][0]["kind"] == "industry"
    every = Decimal(0)
    for h in households:
        every += Decimal(
            (await officer.get(f"/v1/trace/households/{h}")).json()["totals"]["payments"]
        )
    assert every == Decimal("10000.00")  # 110000.00 less the contractor's 100000.00
    assert (
        await county(funds, PUAN).get(f"/v1/trace/households/{households[0]}")
    ).status_code == 404

    # Report: the province and its children.
    report = (await admin.get("/v1/reports/funds", params={"year": 2026})).json()
    assert report["received"] == "300000.00"
    assert report["allocated"] == "200000.00"
    assert report["paid"] == "110000.00"
    assert report["payment_rate"] == 0.3667
    assert report["industry_share"] == 1.0
    assert [c["region_code"] for c in report["children"]] == [QIANXINAN]
    prefecture = (
        await admin.get("/v1/reports/funds", params={"year": 2026, "region": QIANXINAN})
    ).json()
    assert prefecture["received"] == "200000.00"
    assert prefecture["allocated"] == "200000.00"
    by_county = {c["region_code"]: c for c in prefecture["children"]}
    assert by_county[XINGYI]["received"] == "150000.00"
    assert by_county[XINGYI]["paid"] == "110000.00"
    assert by_county[XINGYI]["payment_rate"] == 0.7333
    assert by_county[PUAN]["paid"] == "0.00"
    assert (
        await officer.get("/v1/reports/funds", params={"year": 2026, "region": GUIZHOU})
    ).status_code == 404

    # The asset ledger, CSV and XLSX, with Chinese headers.
    exported = await officer.get("/v1/exports/assets")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["资产编号", "资产名称", "资产类型"]
    assert rows[1][1:3] == ["食用菌大棚", "经营性"]
    assert rows[1][12:14] == ["1000.00", "1000.00"]
    xlsx = await officer.get("/v1/exports/assets", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:2] == ["资产编号", "资产名称"]
    assert sheet.max_row == 2


async def _end_notice(funds, notice_id: str) -> None:
    """Let the results notice run its 10 days: move its window into the past (and the
    completion with it), as the clock would."""
    from sqlalchemy import text

    await move_notice_back(funds, notice_id, 12)
    async with funds.app.state.session_maker() as session:
        await session.execute(
            text(
                "UPDATE funds.projects SET status_changed_at = status_changed_at - interval '13 days' "
                "WHERE id = (SELECT subject_id FROM funds.notices WHERE id = :i)"
            ),
            {"i": notice_id},
        )
        await session.commit()


async def test_money_is_never_a_float_in_the_contract(funds) -> None:
    schema = (await funds.get("/openapi.json")).json()
    ratios = {"payment_rate", "industry_share", "industry_share_min"}
    floats = []
    for name, component in schema["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            options = [prop, *prop.get("anyOf", [])]
            if any(o.get("type") == "number" for o in options) and field not in ratios:
                floats.append(f"{name}.{field}")
    assert floats == []
    fund = await make_fund(province(funds), amount="12.30")
    assert isinstance(fund["amount"], str)
    assert fund["amount"] == "12.30"


async def test_township_reports_nothing_outside_itself(funds) -> None:
    town = funds.as_(Role.township_officer, XINGYI_TOWNSHIP)
    report = await town.get("/v1/reports/funds", params={"year": 2026})
    assert report.status_code == 200
    assert report.json()["received"] == "0.00"
    assert report.json()["payment_rate"] == 0.0

"""Funds' change feed beyond projects and payments: funds and allocations as their GET shows
them, in commit order (a replica built by applying the feed equals GET)."""

from typing import Any

from tests.funds.conftest import (
    QIANXINAN,
    VILLAGE_A,
    XINGYI,
    allocate,
    approved_project,
    completed_project,
    county,
    county_fund,
    days_ago,
    make_asset,
    make_fund,
    province,
    second_county,
    township,
)


async def _replica(reader: Any, after: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The feed applied in order; one record's versions only ever increase along it."""
    replica: dict[str, dict[str, Any]] = {}
    types: list[str] = []
    while True:
        page = (await reader.get("/v1/changes", params={"after": after, "limit": 3})).json()
        for event in page["items"]:
            data, known = event["data"], replica.get(event["entity_id"])
            if known is not None:
                assert data["version"] > known["version"], event
            replica[event["entity_id"]] = data
            types.append(f"{event['entity']}.{event['op']}")
        if not page["items"]:
            return replica, types
        after = page["next_cursor"]


async def test_a_replica_of_funds_and_allocations_from_the_feed_equals_get(funds: Any) -> None:
    admin = province(funds)
    start = (await admin.get("/v1/changes/position")).json()["position"]
    fund = await make_fund(admin, amount="10000.00")
    assert (await allocate(admin, fund["id"], QIANXINAN, "6000.00")).status_code == 201
    onward = await allocate(admin, fund["id"], XINGYI, "5000.00", QIANXINAN)
    assert onward.status_code == 201
    project = await approved_project(funds, fund["id"], budget="1000.00")
    paid = await county(funds).post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "300.00", "payee": "施工方", "voucher_no": "F1", "paid_on": days_ago(0)},
    )
    assert paid.status_code == 201, paid.text

    replica, types = await _replica(admin, start)
    fund_types = [t for t in types if t.split(".")[0] in ("fund", "allocation")]
    assert fund_types == [
        "fund.created",
        "allocation.created",
        "fund.updated",  # allocated by its holder
        "allocation.created",  # onward: the fund shows no change
        "fund.updated",  # paid
    ]
    read = (await admin.get(f"/v1/funds/{fund['id']}")).json()
    assert read["paid"] == "300.00"
    assert read["allocated"] == "6000.00"
    assert replica[fund["id"]] == read  # field for field
    allocations = (await admin.get(f"/v1/funds/{fund['id']}/allocations")).json()["items"]
    assert len(allocations) == 2
    assert all(a["version"] == 1 and replica[a["id"]] == a for a in allocations)


async def test_a_replica_of_assets_income_and_distributions_from_the_feed_equals_get(
    funds: Any, registry_stub: Any
) -> None:
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    officer = county(funds)
    start = (await officer.get("/v1/changes/position")).json()["position"]
    asset = await make_asset(funds, project["id"])
    income = await officer.post(
        f"/v1/assets/{asset['id']}/income", json={"period": "2026-H1", "amount": "100.00"}
    )
    assert income.status_code == 201, income.text
    shares = [
        {"recipient_type": "household", "household_id": str(household), "amount": "60.00"},
        {"recipient_type": "village_works", "label": "村道维修", "amount": "40.00"},
    ]
    distribution = await officer.post(
        f"/v1/assets/{asset['id']}/distributions",
        json={"income_id": income.json()["id"], "shares": shares},
    )
    assert distribution.status_code == 201, distribution.text
    path = f"/v1/assets/{asset['id']}/disposal"
    requested = await township(funds).post(
        path, json={"action": "request", "method": "auction", "reason": "设备老化"}
    )
    assert requested.status_code == 200, requested.text
    assert (await officer.post(path, json={"action": "approve"})).status_code == 200

    replica, types = await _replica(officer, start)
    assert types == [
        "asset.created",
        "income.created",
        "income.distributed",
        "distribution.created",
        "asset.disposal_requested",
        "asset.disposal_approved",
    ]
    got = (await officer.get(f"/v1/assets/{asset['id']}")).json()
    assert got["status"] == "disposal_approved"
    assert replica[asset["id"]] == got  # field for field
    [entry] = (await officer.get(f"/v1/assets/{asset['id']}/income")).json()
    assert entry["distributed"] is True
    assert entry["version"] == 2
    assert replica[entry["id"]] == entry
    assert replica[distribution.json()["id"]] == distribution.json()  # as it was answered


async def test_a_confirmed_payment_is_its_second_version_in_the_feed_as_in_get(funds: Any) -> None:
    fund = await make_fund(province(funds), amount="500000.00")
    assert (await allocate(province(funds), fund["id"], QIANXINAN, "500000.00")).status_code == 201
    onward = await allocate(province(funds), fund["id"], XINGYI, "500000.00", QIANXINAN)
    assert onward.status_code == 201
    project = await approved_project(funds, fund["id"], budget="200000.00")
    officer = county(funds)
    start = (await officer.get("/v1/changes/position")).json()["position"]
    pay = f"/v1/projects/{project['id']}/payments"
    large = await officer.post(
        pay,
        json={"amount": "50000.01", "payee": "施工方", "voucher_no": "L", "paid_on": days_ago(0)},
    )
    assert large.status_code == 201, large.text
    assert large.json()["version"] == 1
    confirmed = await second_county(funds).post(f"{pay}/{large.json()['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["version"] == 2

    replica, types = await _replica(officer, start)
    assert [t for t in types if t.startswith("payment.")] == [
        "payment.created",
        "payment.confirmed",
    ]
    [entry] = (await officer.get(pay)).json()["items"]
    assert replica[entry["id"]] == entry  # field for field, version 2

"""Assets: the ledger, income, distributions that add up to the fen, and disposal only
after the county approves."""

from uuid import uuid4

from tests.funds.conftest import (
    PUAN,
    VILLAGE_A,
    XINGYI,
    completed_project,
    county,
    county_fund,
    make_asset,
    make_project,
    township,
)


async def test_assets_come_from_completed_projects_and_name_a_real_owner(
    funds, registry_stub
) -> None:
    fund = await county_fund(funds)
    proposed = (await make_project(funds, [fund["id"]])).json()
    officer = county(funds)
    body = {
        "project_id": proposed["id"],
        "kind": "public_welfare",
        "name": "通组路",
        "value": "10.00",
        "owner_type": "village_collective",
        "owner_id": VILLAGE_A,
        "custodian": "村委会",
    }
    assert (await officer.post("/v1/assets", json=body)).status_code == 409
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"], kind="public_welfare", name="通组路")
    assert asset["region_code"] == VILLAGE_A
    assert asset["value"] == "800000.00"
    assert asset["status"] == "active"

    ghost = await officer.post(
        "/v1/assets",
        json=body
        | {"project_id": project["id"], "owner_type": "household", "owner_id": str(uuid4())},
    )
    assert ghost.status_code == 422
    household = registry_stub.add_household(VILLAGE_A)
    cattle = await officer.post(
        "/v1/assets",
        json=body
        | {
            "project_id": project["id"],
            "kind": "household",
            "owner_type": "household",
            "owner_id": str(household),
        },
    )
    assert cattle.status_code == 201
    ledger = (await officer.get("/v1/assets", params={"region": XINGYI})).json()["items"]
    assert {a["name"] for a in ledger} == {"通组路"}
    assert len(ledger) == 2
    assert (await county(funds, PUAN).get(f"/v1/assets/{asset['id']}")).status_code == 404


async def test_income_and_explicit_distribution_add_up_exactly(funds, registry_stub) -> None:
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    officer = county(funds)
    income = await officer.post(
        f"/v1/assets/{asset['id']}/income", json={"period": "2026-H1", "amount": "10000.00"}
    )
    assert income.status_code == 201
    income_id = income.json()["id"]
    again = await officer.post(
        f"/v1/assets/{asset['id']}/income", json={"period": "2026-H1", "amount": "1.00"}
    )
    assert again.status_code == 409

    path = f"/v1/assets/{asset['id']}/distributions"
    shares = [
        {"recipient_type": "household", "household_id": str(household), "amount": "3000.00"},
        {"recipient_type": "public_welfare_job", "label": "护林员", "amount": "5000.00"},
        {"recipient_type": "village_works", "label": "村道维修", "amount": "1999.99"},
    ]
    short = await officer.post(path, json={"income_id": income_id, "shares": shares})
    assert short.status_code == 422
    assert "add up to 9999.99, the income is 10000.00" in short.json()["detail"]
    shares[2]["amount"] = "2000.00"
    done = await officer.post(path, json={"income_id": income_id, "shares": shares})
    assert done.status_code == 201
    assert [s["amount"] for s in done.json()["shares"]] == ["3000.00", "5000.00", "2000.00"]
    # Its Location answers what the POST did; another county's officer is told it is not there.
    here = await officer.get(done.headers["Location"])
    assert here.status_code == 200
    assert here.json() == done.json()
    assert (await county(funds, PUAN).get(done.headers["Location"])).status_code == 404
    assert (await officer.get(f"{path}/{uuid4()}")).status_code == 404
    twice = await officer.post(path, json={"income_id": income_id, "shares": shares})
    assert twice.status_code == 409
    listed = (await officer.get(f"/v1/assets/{asset['id']}/income")).json()
    assert listed[0]["distributed"] is True


async def test_weighted_distribution_uses_largest_remainder(funds, registry_stub) -> None:
    households = [registry_stub.add_household(VILLAGE_A) for _ in range(3)]
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    officer = county(funds)
    income_id = (
        await officer.post(
            f"/v1/assets/{asset['id']}/income", json={"period": "2026", "amount": "100.00"}
        )
    ).json()["id"]
    shares = [
        {"recipient_type": "household", "household_id": str(h), "weight": "1"} for h in households
    ]
    response = await officer.post(
        f"/v1/assets/{asset['id']}/distributions", json={"income_id": income_id, "shares": shares}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # 100.00 / 3 = 33.333...: each gets 33.33, the one fen left goes to the first share.
    assert [s["amount"] for s in body["shares"]] == ["33.34", "33.33", "33.33"]
    assert body["shares"][0]["weight"] == "1"
    assert body["method"] == "weights"


async def test_distribution_inputs_are_checked(funds, registry_stub) -> None:
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    officer = county(funds)
    income_id = (
        await officer.post(
            f"/v1/assets/{asset['id']}/income", json={"period": "2026", "amount": "10.00"}
        )
    ).json()["id"]
    path = f"/v1/assets/{asset['id']}/distributions"
    mixed = [
        {"recipient_type": "village_works", "amount": "5.00"},
        {"recipient_type": "village_works", "weight": "1"},
    ]
    assert (
        await officer.post(path, json={"income_id": income_id, "shares": mixed})
    ).status_code == 422
    ghost = [{"recipient_type": "household", "household_id": str(uuid4()), "amount": "10.00"}]
    response = await officer.post(path, json={"income_id": income_id, "shares": ghost})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "shares.0.household_id"
    negative = [{"recipient_type": "village_works", "amount": "-10.00"}]
    assert (
        await officer.post(path, json={"income_id": income_id, "shares": negative})
    ).status_code == 422
    public = await make_asset(funds, project["id"], kind="public_welfare")
    no_income = await officer.post(
        f"/v1/assets/{public['id']}/income", json={"period": "2026", "amount": "1.00"}
    )
    assert no_income.status_code == 409


async def test_disposal_needs_county_approval(funds) -> None:
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    path = f"/v1/assets/{asset['id']}/disposal"
    town, officer = township(funds), county(funds)
    premature = await town.post(path, json={"action": "complete", "disposed_on": "2026-11-01"})
    assert premature.status_code == 409
    assert "without the county's approval" in premature.json()["detail"]
    requested = await town.post(
        path, json={"action": "request", "method": "auction", "reason": "设备老化"}
    )
    assert requested.json()["status"] == "disposal_requested"
    assert (
        await town.post(path, json={"action": "complete", "disposed_on": "2026-11-01"})
    ).status_code == 409
    assert (await town.post(path, json={"action": "approve"})).status_code == 403
    approved = await officer.post(path, json={"action": "approve"})
    assert approved.json()["status"] == "disposal_approved"
    assert approved.json()["disposal_approved_by"] == f"county_officer@{XINGYI}"
    done = await town.post(
        path, json={"action": "complete", "disposed_on": "2026-11-01", "proceeds": "12000.00"}
    )
    assert done.status_code == 200
    assert done.json()["status"] == "disposed"
    assert done.json()["disposal_proceeds"] == "12000.00"

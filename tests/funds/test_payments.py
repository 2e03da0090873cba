"""Who sees which payments: the county sees every entry of its project; below the county
only the payments to households of one's own region; departments see no payee names."""

from shared.auth import Role
from tests.funds.conftest import (
    VILLAGE_A,
    VILLAGE_B,
    XINGYI,
    XINGYI_TOWNSHIP,
    approved_project,
    county,
    county_fund,
    days_ago,
)


async def _paid_project(funds, registry_stub) -> tuple[str, dict[str, str]]:
    here, there = registry_stub.add_household(VILLAGE_A), registry_stub.add_household(VILLAGE_B)
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], households=[here, there])
    pay = f"/v1/projects/{project['id']}/payments"
    ids = {}
    for key, household, payee in [
        ("a", here, "王一卡通"),
        ("b", there, "李一卡通"),
        ("firm", None, "兴义建工"),
    ]:
        body = {"amount": "10.00", "payee": payee, "voucher_no": f"V-{key}", "paid_on": days_ago(0)}
        if household is not None:
            body["household_id"] = str(household)
        response = await county(funds).post(pay, json=body)
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]
    reversal = await county(funds).post(
        pay, json={"reverses": ids["b"], "voucher_no": "R-b", "paid_on": days_ago(0)}
    )
    ids["b-reversal"] = reversal.json()["id"]
    return pay, ids


async def test_a_village_cadre_sees_only_their_villages_payments(funds, registry_stub) -> None:
    pay, ids = await _paid_project(funds, registry_stub)
    seen = lambda r: {p["id"] for p in r.json()["items"]}  # noqa: E731
    cadre_a = await funds.as_(Role.village_cadre, VILLAGE_A).get(pay)
    assert cadre_a.status_code == 200
    assert seen(cadre_a) == {ids["a"]}
    cadre_b = await funds.as_(Role.village_cadre, VILLAGE_B).get(pay)
    assert seen(cadre_b) == {ids["b"], ids["b-reversal"]}
    assert "王一卡通" not in cadre_b.text
    town = await funds.as_(Role.township_officer, XINGYI_TOWNSHIP).get(pay)
    assert seen(town) == {ids["a"], ids["b"], ids["b-reversal"]}
    assert seen(await county(funds).get(pay)) == set(ids.values())


async def test_departments_see_no_payee_names(funds, registry_stub) -> None:
    pay, ids = await _paid_project(funds, registry_stub)
    department = await funds.as_(Role.department, XINGYI).get(pay)
    assert department.status_code == 200
    items = department.json()["items"]
    assert len(items) == len(ids)
    assert {p["payee"] for p in items} == {None}
    assert "一卡通" not in department.text
    assert {p["payee"] for p in (await county(funds).get(pay)).json()["items"]} >= {"兴义建工"}


async def test_below_the_county_a_project_names_only_ones_own_households(
    funds, registry_stub
) -> None:
    here, there = registry_stub.add_household(VILLAGE_A), registry_stub.add_household(VILLAGE_B)
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], households=[here, there])
    path = f"/v1/projects/{project['id']}"
    cadre = funds.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get(path)).json()["beneficiary_household_ids"] == [str(here)]
    listed = (await cadre.get("/v1/projects")).json()["items"]
    assert [p["beneficiary_household_ids"] for p in listed] == [[str(here)]]
    everyone = (await county(funds).get(path)).json()["beneficiary_household_ids"]
    assert set(everyone) == {str(here), str(there)}

"""Policy per region and year: shipped Guizhou 2021, province and county overrides, roles."""

from shared.auth import Role
from tests.conftest import PUAN, VILLAGE_A, XINGYI

PROVINCE = "520000000000"
BODY = {
    "monitoring_line": "6500.00",
    "income_drop_ratio": 0.3,
    "rigid_expense_ratio": 0.5,
    "medical_expense_threshold": "5000.00",
    "medical_expense_threshold_other": "20000.00",
    "notice_days": 5,
    "identification_deadline_days": 15,
    "min_months_before_elimination": 6,
    "rules": {"labour_loss": False},
}


async def test_guizhou_2021_ships_with_the_national_line(monitoring) -> None:
    response = await monitoring.as_(Role.village_cadre, VILLAGE_A).get("/v1/policy/2021")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["monitoring_line"] == "6000.00"
    assert body["region_code"] == PROVINCE
    assert body["income_drop_ratio"] == 0.3
    assert body["medical_expense_threshold"] == "5000.00"
    assert body["rules"]["income_below_line"] is True


async def test_a_year_without_policy_is_404_problem(monitoring) -> None:
    response = await monitoring.as_(Role.county_officer, XINGYI).get("/v1/policy/2030")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_province_sets_a_year_and_a_county_overrides_it(monitoring) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    put = await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)
    assert put.status_code == 201, put.text
    assert put.json()["rules"] == {**put.json()["rules"], "labour_loss": False}
    county = monitoring.as_(Role.county_officer, XINGYI)
    own = await county.put(
        f"/v1/policy/2024?region={XINGYI}", json={**BODY, "monitoring_line": "7000"}
    )
    assert own.status_code == 201, own.text
    # The county reads its own; another county reads the province's.
    got = await monitoring.as_(Role.village_cadre, VILLAGE_A).get("/v1/policy/2024")
    assert got.json()["monitoring_line"] == "7000.00"
    other = await monitoring.as_(Role.county_officer, PUAN).get("/v1/policy/2024")
    assert other.json()["monitoring_line"] == "6500.00"
    # Updating is 200 with the version bumped.
    again = await admin.put(
        f"/v1/policy/2024?region={PROVINCE}", json={**BODY, "monitoring_line": "6600"}
    )
    assert again.status_code == 200
    assert again.json()["version"] == 2


async def test_policy_writes_are_guarded(monitoring) -> None:
    county = monitoring.as_(Role.county_officer, XINGYI)
    assert (await county.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)).status_code == 404
    assert (await county.put(f"/v1/policy/2024?region={PUAN}", json=BODY)).status_code == 404
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.put(f"/v1/policy/2024?region={XINGYI}", json=BODY)).status_code in (
        403,
        404,
    )
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    negative = await admin.put(
        f"/v1/policy/2024?region={PROVINCE}", json={**BODY, "monitoring_line": "-1"}
    )
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "monitoring_line"
    bad_rule = await admin.put(
        f"/v1/policy/2024?region={PROVINCE}", json={**BODY, "rules": {"no_such_rule": True}}
    )
    assert bad_rule.status_code == 422
    village = await admin.put(f"/v1/policy/2024?region={VILLAGE_A}", json=BODY)
    assert village.status_code == 422

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


async def test_a_county_tightens_at_once_but_loosening_waits_for_the_province(
    monitoring,
) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE, sub="province-admin-1")
    assert (await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)).status_code == 201
    officer = monitoring.as_(Role.county_officer, XINGYI, sub="xingyi-officer")
    tighter = {**BODY, "monitoring_line": "7000", "notice_days": 7}
    assert (await officer.put(f"/v1/policy/2024?region={XINGYI}", json=tighter)).status_code == 201

    # Lower line, shorter stable period, a rule the province has on switched off: pending.
    looser = {
        **BODY,
        "monitoring_line": "6000",
        "min_months_before_elimination": 3,
        "rules": {"labour_loss": False, "income_drop": False},
    }
    asked = await officer.put(f"/v1/policy/2024?region={XINGYI}", json=looser)
    assert asked.status_code == 202, asked.text
    request = asked.json()
    assert request["status"] == "pending"
    assert request["requested_by"] == "xingyi-officer"
    assert len(request["loosens"]) == 3
    assert any("monitoring_line" in item for item in request["loosens"])
    in_force = await monitoring.as_(Role.village_cadre, VILLAGE_A).get("/v1/policy/2024")
    assert in_force.json()["monitoring_line"] == "7000.00"

    # Who asks does not approve; nor does another county, nor the same account as admin.
    approve = f"/v1/policies/{request['id']}/approve"
    assert (await officer.post(approve)).status_code == 403
    assert (await monitoring.as_(Role.county_officer, PUAN).post(approve)).status_code == 404
    same = monitoring.as_(Role.province_admin, PROVINCE, sub="xingyi-officer")
    assert (await same.post(approve)).status_code == 403
    pending = await admin.get("/v1/policies", params={"status": "pending"})
    assert [p["id"] for p in pending.json()["items"]] == [request["id"]]

    approved = await admin.post(approve)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["decided_by"] == "province-admin-1"
    in_force = await monitoring.as_(Role.village_cadre, VILLAGE_A).get("/v1/policy/2024")
    assert in_force.json()["monitoring_line"] == "6000.00"
    assert (await admin.post(approve)).status_code == 409

    # A refused request never comes into force.
    again = await officer.put(
        f"/v1/policy/2024?region={XINGYI}", json={**looser, "monitoring_line": "5000"}
    )
    assert again.status_code == 202
    # A new request replaces the one still pending.
    replaced = await officer.put(
        f"/v1/policy/2024?region={XINGYI}", json={**looser, "monitoring_line": "5500"}
    )
    assert replaced.status_code == 202
    pending = (await admin.get("/v1/policies", params={"status": "pending"})).json()["items"]
    assert [p["id"] for p in pending] == [replaced.json()["id"]]
    stale = await admin.post(f"/v1/policies/{again.json()['id']}/approve")
    assert stale.status_code == 409
    refused = await admin.post(f"/v1/policies/{replaced.json()['id']}/refuse")
    assert refused.json()["status"] == "refused"
    in_force = await monitoring.as_(Role.village_cadre, VILLAGE_A).get("/v1/policy/2024")
    assert in_force.json()["monitoring_line"] == "6000.00"


async def test_a_new_policy_never_changes_the_one_a_case_follows(monitoring, feed) -> None:
    household = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    opened = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    case = opened.json()
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    shipped = (await admin.get("/v1/policy/2021")).json()
    assert case["policy_id"] == shipped["id"]
    relaxed = {**BODY, "monitoring_line": "6000", "min_months_before_elimination": 0}
    put = await admin.put(f"/v1/policy/2021?region={PROVINCE}", json=relaxed)
    assert put.status_code == 200, put.text
    assert put.json()["id"] != shipped["id"]
    assert put.json()["version"] == shipped["version"] + 1
    # The case still follows the row it recorded, and that row still says six months.
    assert (await cadre.get(f"/v1/cases/{case['id']}")).json()["policy_id"] == shipped["id"]
    old = (await admin.get("/v1/policies", params={"year": 2021, "status": "superseded"})).json()
    (recorded,) = [p for p in old["items"] if p["id"] == shipped["id"]]
    assert recorded["min_months_before_elimination"] == 6


def test_the_policys_rules_are_the_rules_the_scans_run() -> None:
    from services.monitoring.alerts import rules
    from services.monitoring.policy.schemas import PolicyWrite

    written = PolicyWrite(monitoring_line="6000.00", rules={})
    assert list(written.rules) == list(rules.RULES)
    # Every figure a rule compares with is a column of the policy.
    columns = set(PolicyWrite.model_fields)
    assert {f for rule in rules.RULES.values() for f in rule.figures} <= columns


async def test_the_policy_in_force_is_the_latest_year_the_countys_own_first(
    monitoring, session
) -> None:
    from services.monitoring.policy.repository import PolicyRepository

    admin = monitoring.as_(Role.province_admin, PROVINCE)
    assert (await admin.put(f"/v1/policy/2023?region={XINGYI}", json=BODY)).status_code == 201
    put = await admin.put(
        f"/v1/policy/2024?region={PROVINCE}", json={**BODY, "monitoring_line": "6400"}
    )
    assert put.status_code == 201, put.text
    repo = PolicyRepository(session)

    async def in_force(region_code: str, year: int) -> tuple[str, int] | None:
        policy = await repo.in_force(region_code, year)
        return None if policy is None else (policy.region_code, policy.year)

    assert await in_force(VILLAGE_A, 2023) == (XINGYI, 2023)
    # A later year of the province's outranks an older county override.
    assert await in_force(VILLAGE_A, 2026) == (PROVINCE, 2024)
    # Another county, and a year before any override: the province's latest not after it.
    assert await in_force(VILLAGE_A, 2022) == (PROVINCE, 2021)
    assert await in_force(PUAN, 2023) == (PROVINCE, 2021)
    assert await in_force(VILLAGE_A, 2020) is None
    # A scan judges a year by that year's own policy only.
    assert await repo.for_year(VILLAGE_A, 2025) is None


async def test_a_county_giving_itself_longer_case_clocks_loosens(monitoring) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE, sub="province-admin-1")
    assert (await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)).status_code == 201
    officer = monitoring.as_(Role.county_officer, XINGYI, sub="xingyi-officer")
    shorter = {**BODY, "first_measure_days": 20, "elimination_decision_days": 10}
    assert (await officer.put(f"/v1/policy/2024?region={XINGYI}", json=shorter)).status_code == 201
    longer = {**BODY, "first_measure_days": 60, "elimination_decision_days": 30}
    asked = await officer.put(f"/v1/policy/2024?region={XINGYI}", json=longer)
    assert asked.status_code == 202, asked.text
    loosens = asked.json()["loosens"]
    assert len(loosens) == 2
    assert {item.split()[0] for item in loosens} == {
        "first_measure_days",
        "elimination_decision_days",
    }

"""The funds policy: shipped defaults, a county override, and its effect on notices."""

from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    XINGYI,
    county,
    county_fund,
    make_project,
    post_notice,
    province,
    second_county,
)

FIELDS = {
    "notice_days": 7,
    "idle_days": 60,
    "stall_days": 120,
    "results_notice_days": 20,
    "asset_idle_days": 365,
    "undistributed_days": 60,
    "industry_share_min": 0.65,
}


async def test_shipped_policy_by_year(funds) -> None:
    officer = county(funds)
    p2022 = (await officer.get("/v1/policy/2022")).json()
    assert p2022["industry_share_min"] == 0.55
    assert p2022["notice_days"] == 10
    assert p2022["idle_days"] == 90
    assert p2022["region_code"] == GUIZHOU
    assert (await officer.get("/v1/policy/2026")).json()["industry_share_min"] == 0.6
    assert (await officer.get("/v1/policy/2019")).status_code == 422


async def test_county_override_applies_to_that_county_only(funds) -> None:
    officer = county(funds)
    assert (
        await funds.as_(Role.township_officer, "522301100000").put("/v1/policy/2026", json=FIELDS)
    ).status_code == 403
    assert (
        await officer.put("/v1/policy/2026", json=FIELDS, params={"region": PUAN})
    ).status_code == 404
    put = await officer.put("/v1/policy/2026", json=FIELDS)
    assert put.status_code == 200
    assert put.json()["region_code"] == XINGYI
    assert (await officer.get("/v1/policy/2027")).json()["notice_days"] == 7
    assert (await county(funds, PUAN).get("/v1/policy/2026")).json()["notice_days"] == 10
    bad = await province(funds).put("/v1/policy/2026", json=FIELDS | {"industry_share_min": 1.5})
    assert bad.status_code == 422

    # A 7-day notice now suffices in Xingyi.
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    assert (await post_notice(funds, project["id"], start=8, end=2)).status_code == 201
    approved = await second_county(funds).post(
        f"/v1/projects/{project['id']}/actions", json={"action": "approve"}
    )
    assert approved.status_code == 200

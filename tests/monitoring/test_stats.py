"""The overview counts what a county leader asks about, per child region."""

from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, QIANXINAN, VILLAGE_A, VILLAGE_B, XINGYI


async def test_overview_per_region_child(monitoring, feed, job_ctx) -> None:
    await feed.household(VILLAGE_A, income={2021: "5000.00"})
    await feed.household(VILLAGE_B, category="monitored", income={2021: "9000.00"})
    await feed.household(PUAN_VILLAGE, category="ordinary", income={2021: "3000.00"})
    admin = monitoring.as_(Role.province_admin, "520000000000")
    scan_id = (await admin.post("/v1/scans", json={"region_code": QIANXINAN, "year": 2021})).json()[
        "scan_id"
    ]
    from services.monitoring.alerts import jobs as scan_jobs

    for county in (XINGYI, PUAN):
        await scan_jobs.scan_county(job_ctx, scan_id, county)
    officer = monitoring.as_(Role.county_officer, XINGYI)
    response = await officer.get("/v1/stats/overview", params={"year": 2021})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["households_by_category"] == {"poverty_alleviated": 1, "monitored": 1}
    assert body["open_alerts_by_rule"] == {"income_below_line": 1}
    assert [c["region_code"] for c in body["children"]] == ["522301100000"]
    prefecture = (await admin.get("/v1/stats/overview", params={"region": QIANXINAN})).json()
    assert {c["region_code"]: c["open_alerts"] for c in prefecture["children"]} == {
        XINGYI: 1,
        PUAN: 1,
    }
    assert (await officer.get("/v1/stats/overview", params={"region": PUAN})).status_code == 404

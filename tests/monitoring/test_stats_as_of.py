"""``GET /v1/stats/overview?as_of=``: across a sequence of changes (a household registered, an
alert raised, a case opened and moved, the household made monitored, the case overdue) the
overview read as of each moment between them is what the overview answered then; the
household parts come from the registry's change log (``GET /v1/stats/households``), the
alert and case parts from monitoring's. Loose or future moments are 422; scoped as today."""

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from services.monitoring.alerts import jobs as scan_jobs
from services.monitoring.cases import jobs as case_jobs
from services.monitoring.projection import jobs as projection_jobs
from shared.auth import Role
from shared.db import utcnow
from tests.conftest import VILLAGE_A, VILLAGE_B, XINGYI
from tests.registry.helpers import household

ECONOMICS = {
    "wage": "8000.00",
    **dict.fromkeys(
        ("operating", "property", "transfer", "medical_out_of_pocket", "education"), "0.00"
    ),
    **dict.fromkeys(("disaster_loss", "other_rigid"), "0.00"),
}


async def _moment(session: Any) -> Any:
    """The commit time of the newest entry of either log: every change so far, none after."""
    return (
        await session.execute(
            text(
                "SELECT greatest((SELECT max(committed_at) FROM registry.change_log), "
                "(SELECT max(committed_at) FROM monitoring.change_log))"
            )
        )
    ).scalar_one()


async def test_overview_as_of_each_moment_between_changes(
    registry, monitoring, villages, mon_ctx, job_ctx, session
) -> None:
    county_r = registry.as_(Role.county_officer, XINGYI)
    county = monitoring.as_(Role.county_officer, XINGYI)
    village = monitoring.as_(Role.village_cadre, VILLAGE_A)
    admin = monitoring.as_(Role.province_admin, "520000000000")
    states: list[dict[str, Any]] = []
    moments: list[Any] = []

    async def step() -> None:
        await projection_jobs.follow_registry_changes(mon_ctx)
        answer = await county.get("/v1/stats/overview", params={"year": 2021})
        assert answer.status_code == 200, answer.text
        states.append(answer.json())
        moments.append(await _moment(session))

    created = await county_r.post("/v1/households", json=household(VILLAGE_A, "OV1"))
    assert created.status_code == 201, created.text
    hid = created.json()["id"]
    put = await county_r.put(f"/v1/households/{hid}/economics/2021", json=ECONOMICS)
    assert put.is_success, put.text
    other = await county_r.post("/v1/households", json=household(VILLAGE_B, "OV2"))
    assert other.status_code == 201, other.text
    await step()  # 0: two households
    scan = await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})
    await scan_jobs.scan_county(job_ctx, scan.json()["scan_id"], XINGYI)
    await step()  # 1: an alert
    alert = (await county.get("/v1/alerts", params={"status": "open"})).json()["items"][0]
    opened = await village.post(
        "/v1/cases", json={"household_id": hid, "channel": "scan", "alert_id": alert["id"]}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    await step()  # 2: a case opened
    verified = await village.post(
        f"/v1/cases/{case_id}/actions", json={"action": "verify", "note": "入户核实"}
    )
    assert verified.status_code == 200, verified.text
    await step()  # 3: the case moved
    monitored = await county_r.put(
        f"/v1/households/{hid}/category", json={"category": "monitored", "reason": "核实"}
    )
    assert monitored.is_success, monitored.text
    await step()  # 4: the household monitored
    await session.execute(
        text("UPDATE monitoring.cases SET due_at = now() - interval '1 hour' WHERE id = :c"),
        {"c": case_id},
    )
    assert await case_jobs.mark_overdue_cases(job_ctx) == 1
    await step()  # 5: the case overdue

    assert len(set(moments)) == len(moments)
    assert states[0]["households_by_category"] == {"poverty_alleviated": 2}
    assert states[1]["open_alerts_by_rule"]
    assert not states[0]["open_alerts_by_rule"]
    assert states[2]["cases_by_stage"] != states[3]["cases_by_stage"]
    assert states[4]["households_by_category"] == {"poverty_alleviated": 1, "monitored": 1}
    assert states[5]["overdue_cases"] == 1
    assert states[4]["overdue_cases"] == 0
    for i, (state, moment) in enumerate(zip(states, moments, strict=True)):
        later = moments[i + 1] if i + 1 < len(moments) else utcnow()
        for at in (moment, moment + (later - moment) / 2):
            params = {"year": 2021, "as_of": at.isoformat()}
            answer = await county.get("/v1/stats/overview", params=params)
            assert answer.status_code == 200, answer.text
            assert answer.json() == state, f"as of step {i}"
            assert int(answer.headers["Povguard-As-Of-Position"]) > 0
            if i:
                assert int(answer.headers["Povguard-As-Of-Monitoring-Position"]) > 0
    before = {"as_of": (moments[0] - timedelta(days=1)).isoformat()}
    empty = (await county.get("/v1/stats/overview", params=before)).json()
    assert empty["households_by_category"] == {}
    assert empty["children"] == []

    # The registry's counts, scoped as any read: a village cadre sees their own village.
    cadre = registry.as_(Role.village_cadre, VILLAGE_B)
    now = {"as_of": utcnow().isoformat()}
    own = (await cadre.get("/v1/stats/households", params=now)).json()
    assert own["households_by_category"] == {"poverty_alleviated": 1}
    assert own["children"] == []
    elsewhere = await cadre.get("/v1/stats/households", params={**now, "region": VILLAGE_A})
    assert elsewhere.status_code == 404
    outside = monitoring.as_(Role.village_cadre, VILLAGE_B)
    refused = await outside.get("/v1/stats/overview", params={**now, "region": VILLAGE_A})
    assert refused.status_code == 404


async def test_a_loose_or_future_moment_is_422(monitoring, registry, villages) -> None:
    county = monitoring.as_(Role.county_officer, XINGYI)
    for value in ("2026-06-30", "2026-06-30T18:00:00", "1750000000"):
        answer = await county.get("/v1/stats/overview", params={"as_of": value})
        assert answer.status_code == 422, value
        assert "as_of.format" in answer.text
    future = (utcnow() + timedelta(days=1)).isoformat()
    for client, path in (
        (county, "/v1/stats/overview"),
        (registry.as_(Role.county_officer, XINGYI), "/v1/stats/households"),
    ):
        answer = await client.get(path, params={"as_of": future})
        assert answer.status_code == 422
        assert "as_of.future" in answer.text

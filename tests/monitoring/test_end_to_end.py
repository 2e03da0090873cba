"""End to end through both services over HTTP: a registry change reaches the projection, a
scan raises an alert, the case goes through village, township and county, the household
becomes 监测户 in the registry, a measure lands in the registry, and the risk is eliminated."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from services.monitoring.alerts import jobs as scan_jobs
from services.monitoring.projection import jobs as projection_jobs
from shared import clock, idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI, XINGYI_TOWNSHIP
from tests.monitoring.conftest import let_notice_run

PROVINCE = "520000000000"


def _economics(per_capita_wage: int) -> dict[str, str]:
    return {
        "wage": f"{per_capita_wage * 3}.00",
        "operating": "0.00",
        "property": "0.00",
        "transfer": "0.00",
        "medical_out_of_pocket": "0.00",
        "education": "0.00",
        "disaster_loss": "0.00",
        "other_rigid": "0.00",
    }


async def _follow(mon_ctx: dict[str, Any]) -> None:
    await projection_jobs.follow_registry_changes(mon_ctx)


async def _act(client: Any, case_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/v1/cases/{case_id}/actions", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_registry_change_to_elimination(
    registry, monitoring, villages, mon_ctx, job_ctx, session
) -> None:
    cadre_r = registry.as_(Role.village_cadre, VILLAGE_A)
    county_r = registry.as_(Role.county_officer, XINGYI)
    village = monitoring.as_(Role.village_cadre, VILLAGE_A)
    township = monitoring.as_(Role.township_officer, XINGYI_TOWNSHIP)
    county = monitoring.as_(Role.county_officer, XINGYI)
    admin = monitoring.as_(Role.province_admin, PROVINCE)

    # 1. The registry records a household with a low income and its guarantees.
    members = [
        {
            "name": "王大山",
            "id_number": idnumber.make("522301", date(1975, 4, 1), 11),
            "relation": "head",
            "labour_capacity": "ordinary",
        },
        {
            "name": "李小花",
            "id_number": idnumber.make("522301", date(1978, 9, 9), 22),
            "relation": "spouse",
            "labour_capacity": "weak",
        },
        {
            "name": "王小石",
            "id_number": idnumber.make("522301", date(2001, 2, 2), 33),
            "relation": "child",
            "labour_capacity": "ordinary",
        },
    ]
    created = await county_r.post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": "E2E-0001",
            "category": "poverty_alleviated",
            "members": members,
        },
    )
    assert created.status_code == 201, created.text
    hid = created.json()["id"]
    put = await county_r.put(f"/v1/households/{hid}/economics/2021", json=_economics(4000))
    assert put.status_code in (200, 201), put.text
    checked = {"ok": True, "checked_on": "2021-06-01", "note": ""}
    guarantees = await county_r.put(
        f"/v1/households/{hid}/guarantees",
        json={
            k: checked
            for k in (
                "food_clothing",
                "compulsory_education",
                "basic_medical",
                "housing_safety",
                "drinking_water",
            )
        },
    )
    assert guarantees.status_code in (200, 201), guarantees.text

    # 2. The change feed reaches the projection; a scan raises the alert.
    await _follow(mon_ctx)
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})).json()[
        "scan_id"
    ]
    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    alerts = (await county.get("/v1/alerts", params={"status": "open"})).json()["items"]
    assert [(a["household_id"], a["rule"]) for a in alerts] == [(hid, "income_below_line")]
    assert alerts[0]["figures"]["per_capita_net_income"] == "4000.00"

    # 3. The case: village verification, review and notice, township review, county decision.
    opened = await village.post(
        "/v1/cases", json={"household_id": hid, "channel": "scan", "alert_id": alerts[0]["id"]}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    today = clock.today()
    await _act(village, case_id, action="verify", note="入户核实", evidence=["承诺书.jpg"])
    await _act(village, case_id, action="village_review", result="pass", attendees=21)
    await _act(
        village,
        case_id,
        action="publish_notice",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    await let_notice_run(session, case_id)
    await _act(village, case_id, action="close_notice", objections=[])
    await _act(township, case_id, action="township_review", result="pass")
    decided = await _act(
        county, case_id, action="county_decide", monitored_type=1, risk_types=["07"]
    )
    assert decided["stage"] == "monitored"
    household = (await cadre_r.get(f"/v1/households/{hid}")).json()
    assert household["category"] == "monitored"

    # 4. A measure recorded from the case is in the registry; a follow-up visit.
    measured = await _act(
        village,
        case_id,
        action="add_measure",
        measure={"kind": "employment", "start": str(today), "description": "公益岗位"},
    )
    assert measured["timeline"][-1]["action"] == "add_measure"
    assert measured["timeline"][-1]["details"]["registry_measure_id"]
    listed = (await cadre_r.get(f"/v1/households/{hid}/measures")).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [m["kind"] for m in items] == ["employment"]
    await _act(village, case_id, action="follow_up", note="回访: 已上岗")

    # 5. Income recovers the next year; the feed and a scan close the alert.
    await county_r.put(f"/v1/households/{hid}/economics/2022", json=_economics(9000))
    await _follow(mon_ctx)
    assert (
        await admin.put(f"/v1/policy/2022?region={PROVINCE}", json={"monitoring_line": "6300.00"})
    ).status_code == 201
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2022})).json()[
        "scan_id"
    ]
    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    assert (await county.get("/v1/alerts", params={"status": "open"})).json()["items"] == []

    # 6. Elimination: refused before six months, granted after; the category is restored.
    await _act(
        village,
        case_id,
        action="propose_elimination",
        result="pass",
        starts_on=str(today),
        ends_on=str(today + timedelta(days=6)),
    )
    during_notice = await county.post(
        f"/v1/cases/{case_id}/actions", json={"action": "eliminate", "method": "help"}
    )
    assert during_notice.status_code == 409
    assert str(today + timedelta(days=6)) in during_notice.json()["detail"]
    await let_notice_run(session, case_id)
    early = await county.post(
        f"/v1/cases/{case_id}/actions", json={"action": "eliminate", "method": "help"}
    )
    assert early.status_code == 409
    assert early.json()["unmet_conditions"] == [early.json()["unmet_conditions"][0]]
    assert "6 months" in early.json()["unmet_conditions"][0]
    await session.execute(
        text(
            "UPDATE monitoring.cases SET monitored_since = monitored_since - interval '7 months' WHERE id = :c"
        ),
        {"c": case_id},
    )
    await session.commit()
    done = await _act(county, case_id, action="eliminate", method="help")
    assert done["stage"] == "eliminated"
    assert (await cadre_r.get(f"/v1/households/{hid}")).json()["category"] == "poverty_alleviated"
    await _follow(mon_ctx)
    stats = (await county.get("/v1/stats/overview")).json()
    assert stats["households_by_category"] == {"poverty_alleviated": 1}
    assert stats["cases_by_stage"] == {"eliminated": 1}


async def test_a_scan_sees_households_created_a_moment_before_it_was_asked_for(
    registry, monitoring, villages, job_ctx
) -> None:
    """No follow job has run: the scan request itself brings the projection up to the
    registry's feed position, so a county whose households were only just created is
    scanned, and the scan says which position it saw."""
    county_r = registry.as_(Role.county_officer, XINGYI)
    created = await county_r.post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": "RYW-0001",
            "category": "poverty_alleviated",
            "members": [
                {
                    "name": "王大山",
                    "id_number": idnumber.make("522301", date(1975, 4, 1), 11),
                    "relation": "head",
                    "labour_capacity": "ordinary",
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    hid = created.json()["id"]
    put = await county_r.put(f"/v1/households/{hid}/economics/2021", json=_economics(1000))
    assert put.status_code in (200, 201), put.text
    position = (await county_r.get("/v1/changes/position")).json()["position"]

    admin = monitoring.as_(Role.province_admin, PROVINCE)
    accepted = await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["counties"] == 1
    assert accepted.json()["feed_position"] == position
    scan_id = accepted.json()["scan_id"]
    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    scan = (await admin.get(f"/v1/scans/{scan_id}")).json()
    assert scan["feed_position"] == position
    assert scan["households_examined"] == 1
    alerts = (await admin.get("/v1/alerts", params={"status": "open"})).json()["items"]
    assert [(a["household_id"], a["rule"]) for a in alerts] == [(hid, "income_below_line")]


async def test_a_scan_request_is_503_when_the_registry_feed_cannot_be_read(
    monitoring, registry, villages, monkeypatch
) -> None:
    from types import SimpleNamespace

    from services.monitoring.deps import registry_client
    from shared.registry_client import RegistryUnavailable

    async def down() -> str:
        raise RegistryUnavailable("registry unreachable: ConnectError")

    client = registry_client(SimpleNamespace(app=monitoring.app))  # type: ignore[arg-type]
    monkeypatch.setattr(client, "feed_position", down)
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    response = await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1

"""Outside the caller's region every answer reads as if the record did not exist: the same
status and the same body as for an id nobody ever used, naming nothing."""

from datetime import date
from typing import Any
from uuid import uuid4

from services.monitoring.alerts import jobs as scan_jobs
from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI

PROVINCE = "520000000000"


async def _same(foreign: Any, missing: Any) -> None:
    assert foreign.status_code == missing.status_code == 404, (foreign.text, missing.text)
    assert foreign.json() == missing.json()
    assert foreign.headers["content-type"] == missing.headers["content-type"]


async def test_records_of_another_county_read_as_missing(monitoring, feed, job_ctx) -> None:
    xingyi_household = await feed.household(VILLAGE_A, income={2021: "1000.00"})
    puan_household = await feed.household(PUAN_VILLAGE)
    xingyi = monitoring.as_(Role.county_officer, XINGYI)
    case = await monitoring.as_(Role.village_cadre, VILLAGE_A).post(
        "/v1/cases", json={"household_id": str(xingyi_household["id"]), "channel": "cadre"}
    )
    case_id = case.json()["id"]
    scan = await xingyi.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})
    scan_id = scan.json()["scan_id"]
    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    (alert,) = [
        a
        for a in (await xingyi.get("/v1/alerts")).json()["items"]
        if a["rule"] == "income_below_line"
    ]
    await monitoring.post(
        "/v1/declarations",
        json={
            "name": "李四",
            "id_number": idnumber.make("522301", date(1970, 1, 1), 11),
            "phone": "13800002222",
            "village_code": VILLAGE_A,
            "reason": "illness",
        },
    )
    (declaration,) = (await xingyi.get("/v1/declarations")).json()["items"]
    loosen = await xingyi.put(f"/v1/policy/2021?region={XINGYI}", json={"monitoring_line": "1"})
    assert loosen.status_code == 202, loosen.text
    policy_id = loosen.json()["id"]

    puan = monitoring.as_(Role.county_officer, PUAN)
    nobody = str(uuid4())
    pairs = [
        ("GET", "/v1/cases/{}", case_id, None),
        ("POST", "/v1/cases/{}/actions", case_id, {"action": "verify"}),
        ("GET", "/v1/scans/{}", scan_id, None),
        ("POST", "/v1/declarations/{}/actions", declaration["id"], {"action": "review"}),
        ("POST", "/v1/policies/{}/approve", policy_id, None),
    ]
    for method, path, foreign_id, body in pairs:
        foreign = await puan.request(method, path.format(foreign_id), json=body)
        missing = await puan.request(method, path.format(nobody), json=body)
        await _same(foreign, missing)
    # A body naming another county's household, or its alert.
    open_case = {"channel": "cadre"}
    await _same(
        await puan.post(
            "/v1/cases", json={**open_case, "household_id": str(xingyi_household["id"])}
        ),
        await puan.post("/v1/cases", json={**open_case, "household_id": nobody}),
    )
    accept = {"action": "accept", "household_id": str(xingyi_household["id"])}
    own = await monitoring.post(
        "/v1/declarations",
        json={
            "name": "王五",
            "id_number": idnumber.make("522323", date(1971, 1, 1), 13),
            "phone": "13800003333",
            "village_code": PUAN_VILLAGE,
            "reason": "illness",
        },
    )
    assert own.status_code == 201
    (puan_declaration,) = (await puan.get("/v1/declarations")).json()["items"]
    act = f"/v1/declarations/{puan_declaration['id']}/actions"
    await _same(
        await puan.post(act, json=accept),
        await puan.post(act, json={**accept, "household_id": nobody}),
    )
    with_alert = {"household_id": str(puan_household["id"]), "channel": "scan"}
    foreign = await puan.post("/v1/cases", json={**with_alert, "alert_id": alert["id"]})
    missing = await puan.post("/v1/cases", json={**with_alert, "alert_id": nobody})
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json() == missing.json()
    # A list filtered by another county reads as one filtered by a county that does not exist.
    for path in ("/v1/alerts", "/v1/cases", "/v1/signals", "/v1/declarations", "/v1/policies"):
        await _same(
            await puan.get(path, params={"region": XINGYI}),
            await puan.get(path, params={"region": "522399000000"}),
        )

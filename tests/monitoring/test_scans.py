"""Scans run every rule set-based per county; alerts are raised once, refreshed, closed."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from arq import Retry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.monitoring.alerts import jobs as scan_jobs
from shared import clock, idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI

PROVINCE = "520000000000"


@pytest.fixture(params=["primary", "replica"])
def matches_from(request: Any, job_ctx: dict[str, Any], monkeypatch: Any) -> str:
    """Scans whose rules run whole on the primary, and scans whose matches come from a read
    replica's snapshot (shipped to the primary, which writes): the same alerts. The snapshot is
    a session of the test's transaction here; tests/shared/test_replica.py has a real one."""
    if request.param == "replica":

        @asynccontextmanager
        async def snapshot(replica: Any) -> AsyncIterator[Any]:
            async with job_ctx["session_maker"]() as session:
                yield session
                # Released, not rolled back: its savepoint holds the scan's writes made after.
                await session.commit()

        monkeypatch.setattr(scan_jobs, "replica_snapshot", snapshot)
    return str(request.param)


async def _scan(
    monitoring: Any,
    job_ctx: dict[str, Any],
    region: str = PROVINCE,
    mode: str = "full",
    year: int = 2021,
) -> dict[str, Any]:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    response = await admin.post(
        "/v1/scans", json={"region_code": region, "year": year, "mode": mode}
    )
    assert response.status_code == 202, response.text
    scan_id = response.json()["scan_id"]
    scan = (await admin.get(f"/v1/scans/{scan_id}")).json()
    for county in scan["counties"]:
        await scan_jobs.scan_county(job_ctx, scan_id, county["county_code"])
    return (await admin.get(f"/v1/scans/{scan_id}")).json()


async def _alerts(monitoring: Any, **params: str) -> list[dict[str, Any]]:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    response = await admin.get("/v1/alerts", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _rules_of(alerts: list[dict[str, Any]], household: dict[str, Any]) -> set[str]:
    return {a["rule"] for a in alerts if a["household_id"] == str(household["id"])}


async def test_each_rule_raises_its_alert_with_figures(
    monitoring, feed, job_ctx, matches_from
) -> None:
    below = await feed.household(VILLAGE_A, income={2021: "5200.00"})
    dropped = await feed.household(VILLAGE_A, income={2020: "12000.00", 2021: "7000.00"})
    fine = await feed.household(VILLAGE_B, income={2020: "9000.00", 2021: "9500.00"})
    unsafe = await feed.household(
        VILLAGE_B,
        income={2021: "9000.00"},
        guarantees={"housing_safety": False, "drinking_water": True},
    )
    no_labour = await feed.household(PUAN_VILLAGE, labour="none", income={2021: "8000.00"})
    rigid = await feed.household(VILLAGE_A, members=2)
    await feed.apply(
        feed.economics(rigid["id"], VILLAGE_A, 2021, "6500.00", members=2, rigid="15000.00")
    )

    scan = await _scan(monitoring, job_ctx)
    assert scan["state"] == "done"
    assert scan["counties_total"] == scan["counties_done"] == 2
    assert scan["households_examined"] == 6
    assert scan["duration_seconds"] is not None
    alerts = await _alerts(monitoring, status="open")
    assert _rules_of(alerts, below) == {"income_below_line"}
    assert _rules_of(alerts, dropped) == {"income_drop"}
    assert _rules_of(alerts, fine) == set()
    assert _rules_of(alerts, unsafe) == {"guarantee_lost"}
    assert _rules_of(alerts, no_labour) == {"labour_loss"}
    assert _rules_of(alerts, rigid) == {"rigid_expense"}
    assert scan["alerts_raised"] == len(alerts) == 5
    first = next(a for a in alerts if a["household_id"] == str(below["id"]))
    assert first["figures"] == {
        "year": 2021,
        "per_capita_net_income": "5200.00",
        "monitoring_line": "6000.00",
    }
    assert first["policy_year"] == 2021
    assert first["policy_id"]
    drop = next(a for a in alerts if a["rule"] == "income_drop")
    assert drop["figures"]["drop_ratio"] == pytest.approx(0.4167, abs=1e-4)
    assert next(a for a in alerts if a["rule"] == "guarantee_lost")["figures"]["failed"] == [
        "housing_safety"
    ]


async def test_rescans_never_duplicate_and_close_what_no_longer_holds(
    monitoring, feed, job_ctx, matches_from
) -> None:
    below = await feed.household(VILLAGE_A, income={2021: "5200.00"})
    first = await _scan(monitoring, job_ctx)
    assert first["alerts_raised"] == 1
    # Running a county job of a finished scan again (a killed worker's retry) does nothing.
    await scan_jobs.scan_county(job_ctx, first["id"], first["counties"][0]["county_code"])
    second = await _scan(monitoring, job_ctx)
    assert second["alerts_raised"] == 0
    assert second["alerts_closed"] == 0
    assert len(await _alerts(monitoring, rule="income_below_line")) == 1
    # Income rises above the line: an incremental scan examines only that household and
    # closes the alert.
    await feed.household(PUAN_VILLAGE, income={2021: "9000.00"})
    await feed.apply(feed.economics(below["id"], VILLAGE_A, 2021, "6100.00"))
    third = await _scan(monitoring, job_ctx, mode="incremental")
    assert third["alerts_closed"] == 1
    assert third["households_examined"] == 2
    closed = await _alerts(monitoring, status="closed")
    assert len(closed) == 1
    assert closed[0]["closed_reason"]
    assert await _alerts(monitoring, status="open") == []


async def test_disabled_rule_and_missing_policy(monitoring, feed, job_ctx) -> None:
    await feed.household(VILLAGE_A, labour="none", income={2024: "5000.00"})
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    refused = await admin.post(
        "/v1/scans", json={"region_code": PROVINCE, "year": 2024, "mode": "full"}
    )
    assert refused.status_code == 409
    assert "no monitoring policy for 2024" in refused.json()["detail"]
    put = await admin.put(
        f"/v1/policy/2024?region={PROVINCE}",
        json={"monitoring_line": "7000.00", "rules": {"labour_loss": False}},
    )
    assert put.status_code == 201, put.text
    scan = await _scan(monitoring, job_ctx, year=2024)
    assert {a["rule"] for a in await _alerts(monitoring)} == {"income_below_line"}
    assert scan["alerts_raised"] == 1


async def test_switching_a_rule_off_closes_its_open_alerts_where_a_scan_runs(
    monitoring, feed, job_ctx
) -> None:
    xingyi = await feed.household(VILLAGE_A, labour="none", income={2021: "5000.00"})
    puan = await feed.household(PUAN_VILLAGE, labour="none", income={2021: "8000.00"})
    await _scan(monitoring, job_ctx)
    alerts = await _alerts(monitoring, status="open")
    assert _rules_of(alerts, xingyi) == {"income_below_line", "labour_loss"}
    assert _rules_of(alerts, puan) == {"labour_loss"}

    admin = monitoring.as_(Role.province_admin, PROVINCE)
    put = await admin.put(
        f"/v1/policy/2021?region={PROVINCE}",
        json={"monitoring_line": "6000.00", "rules": {"labour_loss": False}},
    )
    assert put.status_code == 200, put.text
    scan = await _scan(monitoring, job_ctx, region=XINGYI)
    assert scan["alerts_closed"] == 1

    # Xingyi's labour alert is closed, saying why; Puan was not scanned yet.
    closed = await _alerts(monitoring, status="closed")
    assert [(a["household_id"], a["rule"]) for a in closed] == [(str(xingyi["id"]), "labour_loss")]
    assert closed[0]["closed_reason"] == "rule switched off in the policy"
    alerts = await _alerts(monitoring, status="open")
    assert _rules_of(alerts, xingyi) == {"income_below_line"}
    assert _rules_of(alerts, puan) == {"labour_loss"}
    officer = monitoring.as_(Role.county_officer, XINGYI)
    stats = (await officer.get("/v1/stats/overview", params={"year": 2021})).json()
    assert stats["open_alerts_by_rule"] == {"income_below_line": 1}


async def test_two_workers_never_scan_one_county_at_once(
    monitoring, feed, job_ctx, engine: AsyncEngine
) -> None:
    await feed.household(VILLAGE_A, income={2021: "5000.00"})
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})).json()[
        "scan_id"
    ]
    async with engine.connect() as other:
        await other.execute(
            text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": f"monitoring:scan:{XINGYI}"}
        )
        with pytest.raises(Retry):
            await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
        await other.execute(
            text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": f"monitoring:scan:{XINGYI}"}
        )
    await scan_jobs.scan_county(job_ctx, scan_id, XINGYI)
    assert (await admin.get(f"/v1/scans/{scan_id}")).json()["alerts_raised"] == 1


async def test_scans_are_scoped_and_guarded(monitoring) -> None:
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    assert (
        await cadre.post("/v1/scans", json={"region_code": VILLAGE_A, "year": 2021})
    ).status_code == 403
    county = monitoring.as_(Role.county_officer, XINGYI)
    assert (
        await county.post("/v1/scans", json={"region_code": PROVINCE, "year": 2021})
    ).status_code == 404


async def test_signals_feed_the_signal_rules_and_wait_for_unknown_people(
    monitoring, feed, job_ctx, matches_from
) -> None:
    sick = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    ordinary = await feed.household(VILLAGE_B, category="ordinary", income={2021: "9000.00"})
    recent = (clock.today() - timedelta(days=30)).isoformat()
    stranger = idnumber.make("522301", date(1990, 5, 5), 123)
    dept = monitoring.as_(Role.department, PROVINCE)
    batch = {
        "items": [
            {
                "source": "medical_insurance",
                "kind": "out_of_pocket_medical",
                "id_number": sick["id_numbers"][1],
                "amount": "3000.00",
                "occurred_on": recent,
                "external_ref": "m-1",
            },
            {
                "source": "medical_insurance",
                "kind": "out_of_pocket_medical",
                "id_number": sick["id_numbers"][0],
                "amount": "2500.00",
                "occurred_on": recent,
                "external_ref": "m-2",
            },
            {
                "source": "medical_insurance",
                "kind": "out_of_pocket_medical",
                "household_id": str(ordinary["id"]),
                "amount": "6000.00",
                "occurred_on": recent,
                "external_ref": "m-3",
            },
            {
                "source": "emergency",
                "kind": "disaster_loss",
                "household_id": str(ordinary["id"]),
                "amount": "8000.00",
                "occurred_on": recent,
                "external_ref": "e-1",
            },
            {
                "source": "public_security",
                "kind": "car",
                "id_number": sick["id_numbers"][0],
                "occurred_on": recent,
                "external_ref": "p-1",
            },
            {
                "source": "civil_affairs",
                "kind": "death_of_worker",
                "id_number": stranger,
                "occurred_on": recent,
                "external_ref": "c-1",
            },
        ]
    }
    response = await dept.post("/v1/signals", json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 6
    assert body["unmatched"] == 1
    again = (await dept.post("/v1/signals", json=batch)).json()
    assert again["created"] == 0
    assert again["duplicates"] == 6
    assert {i["id"] for i in again["items"]} == {i["id"] for i in body["items"]}
    unmatched = (await dept.get("/v1/signals", params={"matched": "false"})).json()["items"]
    assert [s["external_ref"] for s in unmatched] == ["c-1"]
    assert unmatched[0]["id_number"] == idnumber.mask(stranger)

    await _scan(monitoring, job_ctx)
    alerts = await _alerts(monitoring, status="open")
    # 5,500 over 12 months reaches the 5,000 threshold of a 脱贫户; 6,000 does not reach
    # the 20,000 of an ordinary household.
    assert _rules_of(alerts, sick) == {"medical_expense", "eligibility_anomaly"}
    assert _rules_of(alerts, ordinary) == {"department_signal"}
    anomaly = next(a for a in alerts if a["rule"] == "eligibility_anomaly")
    assert anomaly["kind"] == "review"
    medical = next(a for a in alerts if a["rule"] == "medical_expense")
    assert medical["figures"]["out_of_pocket_12_months"] == "5500.00"

    # The stranger's household arrives through the feed: the waiting signal matches.
    newcomer = await feed.household(VILLAGE_A, members=1)
    member = feed.event(
        "member",
        {
            "id": uuid4(),
            "household_id": newcomer["id"],
            "region_code": VILLAGE_A,
            "id_number": stranger,
            "relation": "spouse",
            "birth_date": "1990-05-05",
            "labour_capacity": "ordinary",
        },
    )
    await feed.apply(member)
    assert (await dept.get("/v1/signals", params={"matched": "false"})).json()["items"] == []


async def test_a_waiting_signal_matches_later_only_inside_its_senders_region(
    monitoring, feed, job_ctx
) -> None:
    # Puan's medical insurance bureau reports two people nobody knows yet: one of Puan,
    # one of Xingyi (a county it does not cover).
    recent = (clock.today() - timedelta(days=30)).isoformat()
    puan_person = idnumber.make("522323", date(1985, 3, 3), 41)
    xingyi_person = idnumber.make("522301", date(1986, 4, 4), 42)
    xingyi_household = uuid4()
    puan_dept = monitoring.as_(Role.department, PUAN)

    def signal(ref: str, **who: str) -> dict[str, str]:
        return {
            "source": "civil_affairs",
            "kind": "death_of_worker",
            "occurred_on": recent,
            "external_ref": ref,
            **who,
        }

    batch = [
        signal("puan-1", id_number=puan_person),
        signal("puan-2", id_number=xingyi_person),
        signal("puan-3", household_id=str(xingyi_household)),
    ]
    response = await puan_dept.post("/v1/signals", json={"items": batch})
    assert response.status_code == 200, response.text
    assert response.json()["unmatched"] == 3

    # Both people, and the named Xingyi household, arrive through the feed.
    puan = await feed.household(PUAN_VILLAGE, members=1)
    xingyi = await feed.household(VILLAGE_A, members=1)
    events = [
        feed.event(
            "member",
            {
                "id": uuid4(),
                "household_id": household["id"],
                "region_code": household["region_code"],
                "id_number": number,
                "relation": "spouse",
                "birth_date": "1985-03-03",
                "labour_capacity": "ordinary",
            },
        )
        for household, number in ((puan, puan_person), (xingyi, xingyi_person))
    ]
    events.append(
        feed.event(
            "household",
            {
                "id": xingyi_household,
                "region_code": VILLAGE_A,
                "household_no": "H-XY-NAMED",
                "category": "poverty_alleviated",
                "relocated": False,
                "at_risk": False,
            },
        )
    )
    await feed.apply(*events)

    # Puan's own person matched; the Xingyi ones wait in Puan's list, unseen by Xingyi.
    waiting = (await puan_dept.get("/v1/signals", params={"matched": "false"})).json()["items"]
    assert sorted(s["external_ref"] for s in waiting) == ["puan-2", "puan-3"]
    xingyi_signals = (await monitoring.as_(Role.county_officer, XINGYI).get("/v1/signals")).json()[
        "items"
    ]
    assert xingyi_signals == []
    await _scan(monitoring, job_ctx)
    alerts = await _alerts(monitoring, rule="department_signal")
    assert [a["household_id"] for a in alerts] == [str(puan["id"])]


async def test_signals_need_a_department_role_and_valid_ids(monitoring) -> None:
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    item = {
        "source": "emergency",
        "kind": "disaster_loss",
        "id_number": "522301199001011234",
        "occurred_on": "2021-01-01",
        "external_ref": "x",
    }
    assert (await cadre.post("/v1/signals", json={"items": [item]})).status_code == 403
    dept = monitoring.as_(Role.department, PROVINCE)
    bad = await dept.post("/v1/signals", json={"items": [item]})
    assert bad.status_code == 200, bad.text  # answered per item, not a 422 for the batch
    (refused,) = bad.json()["items"]
    assert refused["status"] == "rejected"
    assert refused["errors"][0]["field"] == "id_number"
    assert refused["code"].startswith("id_number.")


async def test_a_county_that_fails_for_good_fails_the_scan_with_the_reason(
    monitoring, feed, job_ctx, monkeypatch
) -> None:
    from services.monitoring.alerts import rules

    await feed.household(VILLAGE_A, income={2021: "5000.00"})
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    scan_id = (await admin.post("/v1/scans", json={"region_code": XINGYI, "year": 2021})).json()[
        "scan_id"
    ]

    async def broken(*_: Any) -> Any:
        raise OSError("connection reset")

    monkeypatch.setattr(rules, "run_rule", broken)
    # A lost connection is retried while tries remain: the scan waits, nothing is recorded.
    with pytest.raises(Retry):
        await scan_jobs.scan_county({**job_ctx, "job_try": 1}, scan_id, XINGYI)
    assert (await admin.get(f"/v1/scans/{scan_id}")).json()["state"] != "failed"

    async def wrong(*_: Any) -> Any:
        raise ValueError("rule figures out of range")

    monkeypatch.setattr(rules, "run_rule", wrong)
    # Any other error fails at once; the scan says which county and why, not "running" forever.
    with pytest.raises(ValueError):
        await scan_jobs.scan_county({**job_ctx, "job_try": 1}, scan_id, XINGYI)
    scan = (await admin.get(f"/v1/scans/{scan_id}")).json()
    assert scan["state"] == "failed"
    assert scan["error"] == f"county {XINGYI}: ValueError: rule figures out of range"
    assert scan["finished_at"] is not None
    assert [(c["county_code"], c["state"]) for c in scan["counties"]] == [(XINGYI, "failed")]
    assert await _alerts(monitoring) == []

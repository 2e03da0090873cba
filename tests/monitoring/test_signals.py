"""Department signals: deduplication is per submitter, so counties never collide."""

from datetime import date, timedelta

from sqlalchemy import text

from services.monitoring.alerts import jobs as scan_jobs
from shared import clock
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI


async def test_another_countys_reused_reference_is_its_own_signal(monitoring, feed) -> None:
    xingyi_household = await feed.household(VILLAGE_A, members=1)
    puan_household = await feed.household(PUAN_VILLAGE, members=1)
    recent = (clock.today() - timedelta(days=10)).isoformat()

    def signal(number: str) -> dict[str, object]:
        item = {"source": "civil_affairs", "kind": "death_of_worker", "occurred_on": recent}
        return {"items": [{**item, "external_ref": "case-0001", "id_number": number}]}

    xingyi_dept = monitoring.as_(Role.department, XINGYI)
    first = await xingyi_dept.post("/v1/signals", json=signal(xingyi_household["id_numbers"][0]))
    assert first.status_code == 200, first.text
    assert first.json()["items"][0]["household_id"] == str(xingyi_household["id"])

    # Puan's bureau numbers its cases the same way: its signal is created, not a duplicate,
    # and it never learns Xingyi's household.
    puan_dept = monitoring.as_(Role.department, PUAN)
    second = await puan_dept.post("/v1/signals", json=signal(puan_household["id_numbers"][0]))
    assert second.status_code == 200, second.text
    (item,) = second.json()["items"]
    assert item["status"] == "created"
    assert item["household_id"] == str(puan_household["id"])
    assert item["id"] != first.json()["items"][0]["id"]
    assert str(xingyi_household["id"]) not in second.text

    # Within one submitter's region the reference still deduplicates.
    again = await puan_dept.post("/v1/signals", json=signal(puan_household["id_numbers"][0]))
    assert again.json()["items"][0]["status"] == "duplicate"
    assert again.json()["items"][0]["id"] == item["id"]
    puan_signals = (await puan_dept.get("/v1/signals")).json()["items"]
    assert [s["id"] for s in puan_signals] == [item["id"]]


async def test_a_kind_its_source_does_not_report_rejects_that_item_only(monitoring, feed) -> None:
    household = await feed.household(VILLAGE_A, members=1)
    number = household["id_numbers"][0]
    recent = (clock.today() - timedelta(days=10)).isoformat()
    base = {"id_number": number, "occurred_on": recent}
    batch = [
        {**base, "source": "emergency", "kind": "disaster_loss", "external_ref": "ok-1"},
        {**base, "source": "emergency", "kind": "earthquake_feelings", "external_ref": "bad-1"},
        # A real kind, but of another source: a medical-insurance bureau reports no cars.
        {**base, "source": "medical_insurance", "kind": "car", "external_ref": "bad-2"},
        {**base, "source": "public_security", "kind": "car", "external_ref": "ok-2"},
    ]
    dept = monitoring.as_(Role.department, XINGYI)
    answer = await dept.post("/v1/signals", json={"items": batch})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["rejected"], body["duplicates"]) == (2, 2, 0)
    by_ref = {item["external_ref"]: item for item in body["items"]}
    assert [item["external_ref"] for item in body["items"]] == ["ok-1", "bad-1", "bad-2", "ok-2"]
    assert by_ref["ok-1"]["status"] == "created"
    assert by_ref["ok-1"]["household_id"] == str(household["id"])
    unknown = by_ref["bad-1"]
    assert (unknown["status"], unknown["code"], unknown["id"]) == (
        "rejected",
        "signal.unknown_kind",
        None,
    )
    assert unknown["reason"] == (
        "earthquake_feelings is not a signal kind of emergency; "
        "expected one of: disaster_loss, accident"
    )
    assert by_ref["bad-2"]["status"] == "rejected"
    assert "car is not a signal kind of medical_insurance" in by_ref["bad-2"]["reason"]
    assert "out_of_pocket_medical" in by_ref["bad-2"]["reason"]
    # Only the accepted ones were stored.
    stored = (await dept.get("/v1/signals")).json()["items"]
    assert sorted(s["external_ref"] for s in stored) == ["ok-1", "ok-2"]

    # In Chinese by default; a batch of rejected items alone stores nothing and still answers.
    del dept.headers["Accept-Language"]
    only_bad = await dept.post("/v1/signals", json={"items": [batch[1]]})
    assert only_bad.status_code == 200, only_bad.text
    (item,) = only_bad.json()["items"]
    assert item["reason"] == (
        "信号类型 earthquake_feelings 不属于来源 emergency，应为以下之一：disaster_loss, accident"
    )
    assert item["code"] == "signal.unknown_kind"
    assert only_bad.json()["created"] == 0


async def test_signal_kinds_are_documented_per_source_with_chinese_names(monitoring) -> None:
    from services.monitoring.alerts import rules

    spec = (await monitoring.get("/openapi.json")).json()
    kind = spec["components"]["schemas"]["SignalIn"]["properties"]["kind"]
    assert {"out_of_pocket_medical", "disaster_loss", "dropout", "car"} <= set(kind["enum"])
    assert kind["x-kinds-by-source"]["public_security"] == ["car", "business_registered"]
    assert kind["x-enum-descriptions"]["dropout"] == "失学辍学"
    assert "`disaster_loss` 受灾损失" in kind["description"]
    # Every kind a rule listens to can be sent.
    assert set(rules.SHOCK_KINDS) | set(rules.ANOMALY_KINDS) <= set(kind["enum"])


async def test_a_signal_of_chinas_today_is_taken_at_1am(monitoring, feed, china_1am) -> None:
    # 01:00 in China is 17:00 UTC the day before: a shock that happened this morning in China
    # is not "in the future", and one dated China's tomorrow still is.
    household = await feed.household(VILLAGE_A, members=1)
    dept = monitoring.as_(Role.department, XINGYI)

    def signal(ref: str, on: date) -> dict[str, object]:
        item = {"source": "civil_affairs", "kind": "death_of_worker", "occurred_on": str(on)}
        return {"items": [{**item, "external_ref": ref, "id_number": household["id_numbers"][0]}]}

    today = await dept.post("/v1/signals", json=signal("early-1", china_1am))
    assert today.status_code == 200, today.text
    assert today.json()["items"][0]["status"] == "created"
    tomorrow = await dept.post("/v1/signals", json=signal("early-2", china_1am + timedelta(1)))
    assert tomorrow.status_code == 200, tomorrow.text
    (refused,) = tomorrow.json()["items"]
    assert (refused["status"], refused["code"]) == ("rejected", "signal.future_date")
    assert refused["errors"][0]["field"] == "occurred_on"


async def test_each_item_is_answered_on_its_own_and_the_good_ones_are_stored(
    monitoring, feed
) -> None:
    household = await feed.household(VILLAGE_A, members=2)
    number = household["id_numbers"][0]
    recent = (clock.today() - timedelta(days=5)).isoformat()
    good = {"source": "emergency", "kind": "accident", "id_number": number, "occurred_on": recent}
    items: list[dict[str, object]] = [{**good, "external_ref": f"ok-{i}"} for i in range(9)]
    items[3] = {**good, "id_number": number[:-1] + ("0" if number[-1] != "0" else "1")}
    items[3]["external_ref"] = "bad-checksum"
    items[5] = {k: v for k, v in good.items() if k != "occurred_on"} | {"external_ref": "no-date"}
    items[7] = {**good, "external_ref": "extra", "colour": "red"}
    items.append({**good, "external_ref": "ok-0"})  # the batch's first item again
    items.append({"source": "emergency", "kind": "accident", "occurred_on": recent})
    items.append({**good, "external_ref": "ok-9"})
    items.append({**good, "external_ref": "future", "occurred_on": "2999-01-01"})
    assert len(items) == 13
    dept = monitoring.as_(Role.department, XINGYI)
    del dept.headers["Accept-Language"]  # no preference: Chinese

    answer = await dept.post("/v1/signals", json={"items": items})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    statuses = [(i["index"], i["status"]) for i in body["items"]]
    assert statuses == [
        (0, "created"), (1, "created"), (2, "created"), (3, "rejected"), (4, "created"),
        (5, "rejected"), (6, "created"), (7, "rejected"), (8, "created"),
        (9, "duplicate"), (10, "rejected"), (11, "created"), (12, "rejected"),
    ]  # fmt: skip
    assert (body["created"], body["duplicates"], body["rejected"]) == (7, 1, 5)
    by_index = body["items"]
    assert by_index[9]["id"] == by_index[0]["id"]  # the duplicate names the first one
    assert by_index[3]["code"] == "id_number.checksum"
    assert by_index[3]["errors"][0]["field"] == "id_number"
    assert "校验码" in by_index[3]["errors"][0]["message"]
    assert [(e["field"], e["code"]) for e in by_index[5]["errors"]] == [
        ("occurred_on", "validation.missing")
    ]
    assert by_index[7]["errors"][0]["field"] == "colour"
    assert by_index[7]["errors"][0]["code"] == "field.unknown"
    assert by_index[10]["external_ref"] is None
    assert {e["field"] for e in by_index[10]["errors"]} == {"external_ref"}
    assert by_index[12]["code"] == "signal.future_date"
    for item in by_index:
        for error in item["errors"]:
            assert set(error) == {"field", "code", "message"}
    stored = (await dept.get("/v1/signals", params={"limit": 100})).json()["items"]
    assert len(stored) == 7
    assert number not in answer.text  # a department sees no ID numbers beyond what it sent


async def test_a_matched_signal_raises_its_alert_without_waiting_and_they_link(
    monitoring, feed, job_ctx, session, queue, settings
) -> None:
    household = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    other = await feed.household(VILLAGE_A, income={2021: "9000.00"})
    recent = (clock.today() - timedelta(days=3)).isoformat()
    dept = monitoring.as_(Role.department, XINGYI)
    sent = await dept.post(
        "/v1/signals",
        json={
            "items": [
                {
                    "source": "housing",
                    "kind": "dangerous_housing",
                    "id_number": household["id_numbers"][1],
                    "occurred_on": recent,
                    "external_ref": "h-1",
                },
                # Information no rule reads: no scan for it.
                {
                    "source": "education",
                    "kind": "student_aid",
                    "id_number": other["id_numbers"][0],
                    "occurred_on": recent,
                    "external_ref": "s-1",
                },
            ]
        },
    )
    assert sent.status_code == 200, sent.text
    signal_id = sent.json()["items"][0]["id"]
    # The scan is queued in the same transaction (its job goes out after the commit).
    scans = (
        await session.execute(
            text(
                "SELECT s.id, s.mode, s.region_code, c.county_code FROM monitoring.scans s "
                "JOIN monitoring.scan_counties c ON c.scan_id = s.id "
                "WHERE s.requested_by = 'monitoring-signals'"
            )
        )
    ).all()
    assert [(s.mode, s.region_code, s.county_code) for s in scans] == [
        ("incremental", XINGYI, XINGYI)
    ]
    job_id = f"arq:job:scan:{scans[0].id}:{XINGYI}"
    assert await queue.exists(job_id)  # sent to the workers after the commit
    await queue.delete(job_id, settings.queue_name)
    # A second signal while that scan waits adds no other scan.
    again = {
        "source": "emergency",
        "kind": "accident",
        "id_number": household["id_numbers"][0],
        "occurred_on": recent,
        "external_ref": "e-1",
    }
    assert (await dept.post("/v1/signals", json={"items": [again]})).status_code == 200
    count = "SELECT count(*) FROM monitoring.scans WHERE requested_by = 'monitoring-signals'"
    assert (await session.execute(text(count))).scalar_one() == 1

    await scan_jobs.scan_county(job_ctx, str(scans[0].id), XINGYI)
    admin = monitoring.as_(Role.province_admin, "520000000000")
    alerts = (await admin.get("/v1/alerts", params={"rule": "department_signal"})).json()["items"]
    (alert,) = [a for a in alerts if a["household_id"] == str(household["id"])]
    assert signal_id in alert["signal_ids"]
    assert len(alert["signal_ids"]) == 2

    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    behind = await cadre.get(f"/v1/alerts/{alert['id']}/signals")
    assert behind.status_code == 200, behind.text
    assert sorted(s["external_ref"] for s in behind.json()) == ["e-1", "h-1"]
    shown = next(s["id_number"] for s in behind.json() if s["external_ref"] == "h-1")
    assert shown != household["id_numbers"][1]
    assert shown.endswith(household["id_numbers"][1][-1])
    one = await cadre.get(f"/v1/signals/{signal_id}")
    assert one.status_code == 200, one.text
    assert one.json()["alert_ids"] == [alert["id"]]
    listed = (await cadre.get("/v1/signals")).json()["items"]
    assert {s["external_ref"]: s["alert_ids"] for s in listed}["s-1"] == []
    # Outside the reader's region: 404, as for everything else.
    puan = monitoring.as_(Role.county_officer, PUAN)
    assert (await puan.get(f"/v1/alerts/{alert['id']}/signals")).status_code == 404
    assert (await puan.get(f"/v1/signals/{signal_id}")).status_code == 404

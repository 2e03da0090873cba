"""Department signals: deduplication is per submitter, so counties never collide."""

from datetime import date, timedelta

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
    assert tomorrow.status_code == 422

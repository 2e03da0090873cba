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

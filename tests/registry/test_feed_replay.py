"""The change feed as a partner uses it: replaying it from the start into an empty copy
rebuilds every household and member exactly as ``GET /v1/households/{id}`` shows them to the
same reader, through every kind of write (API, partner sync through the set-based pipeline,
the category procedure, departures)."""

from datetime import date
from typing import Any

from shared import idnumber
from shared.auth import Role
from shared.contracts.registry import HouseholdSnapshot, MemberSnapshot
from tests.conftest import VILLAGE_A, VILLAGE_B, XINGYI, ApiClient


def _number(i: int) -> str:
    return idnumber.make("522301", date(1970 + i, 3, 9), 31 + 2 * i)


async def _write_through_every_path(registry: ApiClient) -> list[str]:
    cadre = registry.as_(Role.county_officer, XINGYI)
    created = await cadre.post(
        "/v1/households",
        json={
            "region_code": VILLAGE_A,
            "household_no": "5223011000017001",
            "address": "丰都村一组",
            "phone": "13800000001",
            "category": "poverty_alleviated",
            "poverty_causes": ["因病"],
            "members": [
                {"name": "王大山", "id_number": _number(1), "relation": "head"},
                {"name": "李小花", "id_number": _number(2), "relation": "spouse"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    household = created.json()
    # The address and phone change: the event must carry the state after, not before.
    moved = await cadre.patch(
        f"/v1/households/{household['id']}",
        json={"address": "丰都村二组", "phone": "13800000002"},
        headers={"If-Match": str(household["version"])},
    )
    assert moved.status_code == 200, moved.text
    child = await cadre.post(
        f"/v1/households/{household['id']}/members",
        json={"name": "王小树", "id_number": _number(30), "relation": "child"},
    )
    assert child.status_code == 201, child.text
    spouse = household["members"][1]
    changed = await cadre.patch(
        f"/v1/members/{spouse['id']}",
        json={"health": "chronic", "migrant_work_months": 6},
        headers={"If-Match": str(spouse["version"])},
    )
    assert changed.status_code == 200, changed.text
    departed = await cadre.request(
        "DELETE",
        f"/v1/members/{child.json()['id']}",
        json={"reason": "moved", "departed_on": "2026-01-02"},
    )
    assert departed.status_code in (200, 204), departed.text
    marked = await cadre.put(
        f"/v1/households/{household['id']}/category",
        json={"category": "monitored", "reason": "county decision"},
    )
    assert marked.status_code == 200, marked.text
    # Partner sync goes through the set-based pipeline (its snapshots are SQL).
    department = registry.as_(Role.department, XINGYI)
    for address in ("新寨", "新寨三组"):
        synced = await department.post(
            "/v1/sync/households",
            json={
                "system": "civil_affairs",
                "items": [
                    {
                        "external_id": "CA-77",
                        "region_code": VILLAGE_B,
                        "address": address,
                        "phone": "13900000000",
                        "category": "poverty_alleviated",
                        "members": [
                            {"name": "张三", "id_number": _number(40), "relation": "head"},
                            {
                                "name": "张四",
                                "id_number": _number(41),
                                "relation": "child",
                                "schooling_stage": "junior",
                            },
                        ],
                    }
                ],
            },
        )
        assert synced.status_code == 200, synced.text
        assert synced.json()["items"][0]["status"] in ("created", "updated"), synced.text
    return [household["id"], synced.json()["items"][0]["household_id"]]


async def _replay(reader: ApiClient) -> dict[str, dict[str, Any]]:
    """Every household in the reader's copy, rebuilt from the feed alone."""
    households: dict[str, dict[str, Any]] = {}
    members: dict[str, dict[str, Any]] = {}
    after = "0"
    while True:
        page = await reader.get("/v1/changes", params={"after": after, "limit": 3})
        assert page.status_code == 200, page.text
        body = page.json()
        for event in body["items"]:
            copy = {"household": households, "member": members}.get(event["entity"])
            if copy is None:
                continue
            # Each event is a newer state than the last one of its entity: a partner may
            # also keep whichever version is highest.
            before = copy.get(event["entity_id"], {"version": 0})
            assert event["data"]["version"] > before["version"], event
            copy[event["entity_id"]] = event["data"]
        if not body["items"]:
            break
        after = body["next_cursor"]
    for member in members.values():
        households[member["household_id"]].setdefault("members", []).append(member)
    return households


def _household(data: dict[str, Any]) -> dict[str, Any]:
    """A household's fields and members through the contract (so a timestamp written as
    ``+00:00`` and as ``Z`` compare equal), members in id order."""
    members = sorted(
        (MemberSnapshot.model_validate(m).model_dump(mode="json") for m in data["members"]),
        key=lambda m: m["id"],
    )
    return HouseholdSnapshot.model_validate(data).model_dump(mode="json") | {"members": members}


async def test_replaying_the_feed_rebuilds_households_as_each_reader_reads_them(
    registry, villages
) -> None:
    ids = await _write_through_every_path(registry)
    readers = {
        "county officer (full ID numbers)": registry.as_(Role.county_officer, XINGYI),
        "auditor (masked ID numbers)": registry.as_(Role.auditor, XINGYI),
        "department (masked, no names or phones)": registry.as_(Role.department, XINGYI),
    }
    for who, reader in readers.items():
        copy = await _replay(reader)
        assert set(ids) <= set(copy), who
        for household_id in copy:
            answer = await reader.get(f"/v1/households/{household_id}")
            assert answer.status_code == 200, answer.text
            shown = answer.json()
            # The contract is the whole read: no field of the answer is missing from it.
            assert set(shown) - {"members"} == set(HouseholdSnapshot.model_fields), who
            for member in shown["members"]:
                assert set(member) == set(MemberSnapshot.model_fields), who
            assert _household(copy[household_id]) == _household(shown), who
        masked = copy[ids[0]]["members"][0]
        if who.startswith("county"):
            assert masked["id_number"] in {_number(1), _number(2), _number(30)}
        else:
            assert "*" in masked["id_number"]
            assert masked["birth_date"] is None
        assert copy[ids[0]]["address"] == "丰都村二组"
        assert copy[ids[1]]["address"] == "新寨三组"
        assert copy[ids[0]].get("phone") == (
            None if who.startswith("department") else "13800000002"
        )

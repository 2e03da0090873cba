"""Partner sync: set-based upsert keyed by one system's ids, answered per item."""

from datetime import date

from sqlalchemy import text

from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI


def number(i: int) -> str:
    return idnumber.make("522301", date(1960 + i, 6, 15), 21 + 2 * i)


def item(external_id: str, *numbers: str, region: str = VILLAGE_A, **extra) -> dict:
    members = [
        {"name": f"成员{k}", "id_number": n, "relation": "head" if k == 0 else "child"}
        for k, n in enumerate(numbers)
    ]
    return {
        "external_id": external_id,
        "region_code": region,
        "category": "poverty_alleviated",
        "members": members,
        **extra,
    }


async def test_sync_creates_updates_and_reports_unchanged_and_rejected(
    registry, villages, session
) -> None:
    department = registry.as_(Role.department, XINGYI)
    batch = {
        "system": "civil_affairs",
        "items": [
            item("CA-1", number(1), number(2)),
            item("CA-2", number(3), region=VILLAGE_B),
            item("CA-3", number(4)[:-1] + ("0" if number(4)[-1] != "0" else "1")),
            item("CA-4", number(5), region=PUAN_VILLAGE),
            item("CA-5", number(6), number(1)),
        ],
    }
    first = await department.post("/v1/sync/households", json=batch)
    assert first.status_code == 200, first.text
    body = first.json()
    statuses = {i["external_id"]: i["status"] for i in body["items"]}
    assert statuses == {
        "CA-1": "rejected",  # its member number(1) is also in CA-5: the file duplicate rule
        "CA-2": "created",
        "CA-3": "rejected",
        "CA-4": "rejected",
        "CA-5": "rejected",
    }
    reasons = {i["external_id"]: i["reason"] for i in body["items"]}
    assert "members[0].id_number: check character" in reasons["CA-3"]
    assert reasons["CA-4"] == f"region_code: {PUAN_VILLAGE} is outside your region"
    assert "more than once" in reasons["CA-5"]
    assert body["created"] == 1
    assert body["rejected"] == 4

    batch["items"] = [item("CA-1", number(1), number(2)), item("CA-2", number(3), region=VILLAGE_B)]
    second = (await department.post("/v1/sync/households", json=batch)).json()
    assert [i["status"] for i in second["items"]] == ["created", "unchanged"]
    household_no = (
        await session.execute(
            text(
                "SELECT household_no, external_ids FROM registry.households h "
                "JOIN registry.household_external_ids x ON x.household_id = h.id "
                "WHERE x.external_id = 'CA-1'"
            )
        )
    ).one()
    assert household_no[0] == "civil_affairs:CA-1"
    assert household_no[1] == {"civil_affairs": "CA-1"}

    batch["items"] = [item("CA-1", number(1), number(2), address="新地址")]
    third = (await department.post("/v1/sync/households", json=batch)).json()
    assert third["items"][0]["status"] == "updated"
    assert third["items"][0]["household_id"] == second["items"][0]["household_id"]
    events = (
        await session.execute(
            text(
                "SELECT op, count(*) FROM registry.change_log WHERE entity = 'household' "
                "AND op IS NOT NULL GROUP BY op"
            )
        )
    ).all()
    assert dict(events) == {"create": 2, "update": 1}
    audit = (
        await session.execute(
            text("SELECT count(*) FROM registry.change_log WHERE actor = :a"),
            {"a": f"department@{XINGYI}"},
        )
    ).scalar_one()
    assert audit == 2 + 3 + 1  # households created, members created, one household updated


async def test_sync_is_idempotent_with_a_key_and_limits_the_batch(registry, villages) -> None:
    service = registry.as_(Role.service, "520000000000")
    batch = {"system": "medical", "items": [item("M-1", number(7))]}
    headers = {"Idempotency-Key": "sync-1"}
    first = await service.post("/v1/sync/households", json=batch, headers=headers)
    again = await service.post("/v1/sync/households", json=batch, headers=headers)
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["created"] == 1
    too_many = {"system": "medical", "items": [item(f"M-{i}", number(1)) for i in range(1001)]}
    assert (await service.post("/v1/sync/households", json=too_many)).status_code in (413, 422)
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.post("/v1/sync/households", json=batch)).status_code == 403


async def test_a_member_whose_sex_disagrees_with_the_id_rejects_only_its_item(
    registry, villages
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    wrong = item("P-1", number(8))
    wrong["members"][0]["sex"] = "female" if int(number(8)[16]) % 2 else "male"
    body = (
        await officer.post(
            "/v1/sync/households",
            json={"system": "police", "items": [wrong, item("P-2", number(9))]},
        )
    ).json()
    assert [i["status"] for i in body["items"]] == ["rejected", "created"]
    assert body["items"][0]["reason"].startswith("members[0].sex: the ID number says")


async def test_schooling_rejects_only_its_item_and_a_stage_alone_says_in_school(
    registry, villages, session
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    pupil = item("S-1", number(10))
    pupil["members"][0]["schooling_stage"] = "junior"  # no in_school: the stage says it
    muddled = item("S-2", number(11))
    muddled["members"][0] |= {"schooling_stage": "dropout", "in_school": True}
    body = (
        await officer.post(
            "/v1/sync/households", json={"system": "education", "items": [pupil, muddled]}
        )
    ).json()
    assert [i["status"] for i in body["items"]] == ["created", "rejected"]
    assert "a dropout is not in school" in body["items"][1]["reason"]
    stored = await session.execute(
        text("SELECT in_school, schooling_stage FROM registry.members WHERE id_number = :n"),
        {"n": number(10)},
    )
    assert tuple(stored.one()) == (True, "junior")


async def test_an_item_that_does_not_fit_the_schema_rejects_only_itself(
    registry, villages, session
) -> None:
    department = registry.as_(Role.department, XINGYI)
    unknown_relation = item("U-2", number(13))
    unknown_relation["members"][0]["relation"] = "boss"
    short_region = item("U-3", number(14), region="5223")
    no_external_id = item("U-4", number(15))
    del no_external_id["external_id"]
    batch = {
        "system": "civil_affairs",
        "items": [item("U-1", number(12)), unknown_relation, short_region, no_external_id, 42],
    }
    response = await department.post("/v1/sync/households", json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(i["external_id"], i["status"]) for i in body["items"]] == [
        ("U-1", "created"),
        ("U-2", "rejected"),
        ("U-3", "rejected"),
        (None, "rejected"),
        (None, "rejected"),
    ]
    reasons = [i["reason"] for i in body["items"]]
    assert reasons[1].startswith("members[0].relation: must be one of 'head'")
    assert reasons[2] == "region_code: must be a 12-digit region code"
    assert reasons[3].startswith("external_id: field required")
    assert (body["created"], body["rejected"]) == (1, 4)
    landed = await session.execute(
        text("SELECT id_number FROM registry.members WHERE id_number = ANY(:n)"),
        {"n": [number(i) for i in range(12, 16)]},
    )
    assert [r.id_number for r in landed] == [number(12)]
    spec = (await registry.get("/openapi.json")).json()
    items = spec["components"]["schemas"]["SyncBatch"]["properties"]["items"]["items"]
    assert items == {"$ref": "#/components/schemas/SyncHousehold"}


async def test_a_region_code_in_other_digits_and_a_repeated_id_in_a_bad_item_are_rejected(
    registry, villages, session
) -> None:
    department = registry.as_(Role.department, XINGYI)
    # 普安's village with a full-width last digit: it used to pass the 12-digit check and skip
    # the region rules, landing outside the department's county.
    disguised = item("R-1", number(16), region=PUAN_VILLAGE[:-1] + "１")
    twin_ok, twin_bad = item("R-2", number(17)), item("R-2", number(18))
    twin_bad["members"][0]["relation"] = "boss"
    body = (
        await department.post(
            "/v1/sync/households",
            json={"system": "civil_affairs", "items": [disguised, twin_ok, twin_bad]},
        )
    ).json()
    assert [i["status"] for i in body["items"]] == ["rejected"] * 3
    assert body["items"][0]["reason"].startswith("region_code: must be a 12-digit")
    assert body["items"][1]["reason"] == (
        "external_id: external_id R-2 appears more than once in the batch (items 1, 2)"
    )
    assert body["items"][1]["code"] == "sync.external_id_repeated"
    landed = await session.execute(
        text("SELECT count(*) FROM registry.members WHERE id_number = ANY(:n)"),
        {"n": [number(16), number(17), number(18)]},
    )
    assert landed.scalar_one() == 0


async def test_rejected_items_carry_codes_and_field_errors_in_batch_terms(
    registry, villages
) -> None:
    department = registry.as_(Role.department, XINGYI)
    del department.headers["Accept-Language"]  # no preference: Chinese
    bad_check = number(21)[:-1] + ("0" if number(21)[-1] != "0" else "1")
    items = [item(f"E-{i}", number(30 + i)) for i in range(12)]
    items[0] = item("E-0", number(20), number(22))
    items[11] = item("E-11", number(23), number(22))  # number(22) again, in item 0
    items[4] = item("E-4", bad_check, region=PUAN_VILLAGE)
    response = await department.post(
        "/v1/sync/households", json={"system": "civil_affairs", "items": items}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["index"] for i in body["items"]] == list(range(12))
    assert [i["status"] for i in body["items"]].count("created") == 9
    first, last = body["items"][0], body["items"][11]
    for repeated in (first, last):
        assert repeated["status"] == "rejected"
        assert repeated["code"] == "sync.id_number_repeated"
        (error,) = repeated["errors"]
        assert error["code"] == "sync.id_number_repeated"
        assert error["message"] == "身份证号码在本批次中出现多次（第 0, 11 项）"
        assert "行" not in error["message"]  # no "rows 1, 16" of a file
    assert first["errors"][0]["field"] == "members[1].id_number"
    assert last["errors"][0]["field"] == "members[1].id_number"
    fourth = body["items"][4]
    assert fourth["code"] == fourth["errors"][0]["code"]  # the item's first error
    fields = {(e["field"], e["code"]) for e in fourth["errors"]}
    assert ("members[0].id_number", "id_number.checksum") in fields
    assert ("region_code", "region.outside_scope") in fields
    for answer in body["items"]:
        for error in answer["errors"]:
            assert set(error) == {"field", "code", "message"}


async def test_absent_members_are_kept_or_departed_as_the_partner_chooses(
    registry, villages, session
) -> None:
    department = registry.as_(Role.department, XINGYI)
    batch = {"system": "civil_affairs", "items": [item("A-1", number(40), number(41), number(42))]}
    created = (await department.post("/v1/sync/households", json=batch)).json()
    household_id = created["items"][0]["household_id"]

    # Kept (the default): a member left out stays resident.
    batch["items"] = [item("A-1", number(40), number(41))]
    kept = (await department.post("/v1/sync/households", json=batch)).json()
    assert kept["items"][0]["status"] == "unchanged"
    assert kept["items"][0]["departed_members"] == 0
    resident = (
        "SELECT id_number FROM registry.members WHERE household_id = :h AND departed_on IS NULL"
    )
    rows = await session.execute(text(resident), {"h": household_id})
    assert len(rows.all()) == 3

    # Departed, when asked: one depart change each, as DELETE /v1/members/{id} leaves.
    departed = (
        await department.post("/v1/sync/households", json={**batch, "absent_members": "depart"})
    ).json()
    assert departed["items"][0]["status"] == "updated"
    assert departed["items"][0]["departed_members"] == 1
    rows = await session.execute(text(resident), {"h": household_id})
    assert sorted(r.id_number for r in rows) == sorted([number(40), number(41)])
    gone = (
        await session.execute(
            text("SELECT departure_reason, version FROM registry.members WHERE id_number = :n"),
            {"n": number(42)},
        )
    ).one()
    assert tuple(gone) == ("moved", 2)
    log = (
        await session.execute(
            text(
                "SELECT op, actor_role, data->>'departed_on' IS NOT NULL FROM registry.change_log "
                "WHERE entity = 'member' AND op = 'depart' AND household_id = :h"
            ),
            {"h": household_id},
        )
    ).all()
    assert [tuple(r) for r in log] == [("depart", "department", True)]
    officer = registry.as_(Role.county_officer, XINGYI)
    feed = (await officer.get("/v1/changes", params={"limit": 1000})).json()["items"]
    assert any(e["op"] == "depart" and e["data"]["id_number"] == number(42) for e in feed)
    refused = await department.post(
        "/v1/sync/households", json={**batch, "absent_members": "forget"}
    )
    assert refused.status_code == 422

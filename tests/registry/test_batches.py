"""Offline batches: a cadre's phone sends its queued changes at once and learns, per item,
what was applied, what conflicted with an office edit, and what was refused."""

from typing import Any
from uuid import uuid4

from sqlalchemy import text

from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI
from tests.registry.helpers import household, id_number, member


def op(entity: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"item_id": str(uuid4()), "entity": entity, "op": kind, **fields}


async def _household(client: Any, region: str = VILLAGE_A, no: str = "B0001") -> dict[str, Any]:
    created = await client.post("/v1/households", json=household(region, no))
    assert created.status_code == 201, created.text
    return created.json()


async def test_each_kind_of_item_applies_in_order_with_its_change_log(
    registry, villages, session
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = await _household(cadre)
    head = home["members"][0]
    newborn = member("child", name="王小宝", id_number=id_number())
    items = [
        op("household", "create", data=household(VILLAGE_A, "B0002")),
        op("member", "create", household_id=home["id"], data=newborn),
        op("member", "patch", id=head["id"], base_version=head["version"],
           data={"health": "chronic"}),
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": "丰都村二组"}),
        op("economics", "create", household_id=home["id"],
           data={"year": 2024, "wage": "12000.00", "medical_out_of_pocket": "800.00"}),
        op("guarantees", "patch", household_id=home["id"],
           data={"housing_safety": {"ok": False, "checked_on": "2024-06-01", "note": "C级"}}),
        op("member", "depart", id=home["members"][1]["id"], base_version=1,
           data={"reason": "marriage_out", "departed_on": "2024-07-01"}),
    ]  # fmt: skip
    answer = await cadre.post("/v1/batches", json={"items": items})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [i["status"] for i in body["items"]] == ["applied"] * 7, body
    assert (body["applied"], body["conflicts"], body["rejected"]) == (7, 0, 0)
    assert [i["http_status"] for i in body["items"]] == [201, 201, 200, 200, 201, 200, 200]
    assert body["items"][2]["version"] == head["version"] + 1
    assert body["items"][3]["version"] == home["version"] + 1
    stored = (await cadre.get(f"/v1/households/{home['id']}")).json()
    assert stored["address"] == "丰都村二组"
    assert len(stored["members"]) == 3
    # Every applied item is in the change log, naming the cadre, the batch and the item.
    log = await session.execute(
        text(
            "SELECT batch_item_id, actor, count(*) FROM registry.change_log "
            "WHERE batch_id = :b GROUP BY 1, 2"
        ),
        {"b": body["batch_id"]},
    )
    per_item = {str(r.batch_item_id): (r.actor, r[2]) for r in log}
    assert set(per_item) == {i["item_id"] for i in items}
    assert {actor for actor, _ in per_item.values()} == {f"village_cadre@{VILLAGE_A}"}


async def test_conflicts_soft_and_hard_against_an_office_edit(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = await _household(cadre)
    head = home["members"][0]
    office = registry.as_(Role.county_officer, XINGYI)
    edited = await office.patch(
        f"/v1/members/{head['id']}",
        json={"health": "serious"},
        headers={"If-Match": str(head["version"])},
    )
    assert edited.status_code == 200, edited.text
    soft = op("member", "patch", id=head["id"], base_version=head["version"],
              data={"labour_capacity": "weak"})  # fmt: skip
    hard = op("member", "patch", id=head["id"], base_version=head["version"],
              data={"health": "healthy", "dibao": True})  # fmt: skip
    answer = (await cadre.post("/v1/batches", json={"items": [soft, hard]})).json()
    first, second = answer["items"]
    assert (first["status"], first["conflict"], first["fields"]) == (
        "conflict", "soft", ["health"]
    )  # fmt: skip
    assert first["version"] == head["version"] + 2  # applied on top of the office's edit
    assert (second["status"], second["conflict"]) == ("conflict", "hard")
    assert "health" in second["fields"]
    assert second["version"] == head["version"] + 2  # the server's version now
    assert second["http_status"] == 409
    now = (await cadre.get(f"/v1/households/{home['id']}")).json()["members"][0]
    assert (now["health"], now["labour_capacity"], now["dibao"]) == ("serious", "weak", False)


async def test_rejected_items_say_why_and_stop_no_other(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    del cadre.headers["Accept-Language"]  # no preference: Chinese
    home = await _household(cadre)
    bad_number = member("child", id_number="522301198005170000")
    items = [
        op("member", "create", household_id=home["id"], data=bad_number),
        op("member", "patch", id=home["members"][0]["id"], data={"health": "chronic"}),
        op("household", "patch", id=str(uuid4()), base_version=1, data={"address": "x"}),
        op("member", "fly", id=home["members"][0]["id"]),
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": "新\u0000址"}),  # the database refuses it: that item only
        op("household", "patch", id=home["id"], base_version=home["version"],
           data={"address": "新址"}),
    ]  # fmt: skip
    body = (await cadre.post("/v1/batches", json={"items": items})).json()
    statuses = [(i["status"], i["code"]) for i in body["items"]]
    assert statuses[0][0] == "rejected"
    assert statuses[0][1].startswith("id_number.")
    assert body["items"][0]["errors"][0]["field"] == "data.id_number"
    assert body["items"][0]["http_status"] == 422
    assert statuses[1] == ("rejected", "batch.base_version_required")
    assert statuses[2] == ("rejected", "household.not_found")
    assert body["items"][2]["http_status"] == 404
    assert statuses[3] == ("rejected", "batch.unknown_op")
    assert statuses[4] == ("rejected", "validation.character")
    assert statuses[5] == ("applied", None)
    for answer in body["items"][:4]:
        assert answer["detail"]  # in Chinese by default
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["items"][2]["detail"])


async def test_a_resent_item_gets_its_first_answer_and_a_changed_one_409(
    registry, villages, session
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = await _household(cadre)
    item = op("member", "create", household_id=home["id"], data=member("child"))
    first = (await cadre.post("/v1/batches", json={"items": [item]})).json()["items"][0]
    assert first["status"] == "applied"
    again = (await cadre.post("/v1/batches", json={"items": [item]})).json()["items"][0]
    assert again == {**first, "replayed": True}
    changed = {**item, "data": {**item["data"], "name": "改名"}}
    reused = (await cadre.post("/v1/batches", json={"items": [changed]})).json()["items"][0]
    assert (reused["status"], reused["code"], reused["http_status"]) == (
        "rejected", "batch.item_reused", 409
    )  # fmt: skip
    members = (await cadre.get(f"/v1/households/{home['id']}")).json()["members"]
    assert len(members) == 3  # written once
    # Another caller's item with the same id is its own.
    other = registry.as_(Role.township_officer, VILLAGE_A[:9] + "000")
    theirs = {**item, "data": member("child")}
    assert (await other.post("/v1/batches", json={"items": [theirs]})).json()["items"][0][
        "status"
    ] == "applied"


async def test_an_atomic_batch_writes_all_or_nothing(registry, villages, session) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = await _household(cadre)
    good = op("household", "patch", id=home["id"], base_version=home["version"],
              data={"address": "原子"})  # fmt: skip
    bad = op("member", "create", household_id=home["id"], data={"name": "无证"})
    failed = (await cadre.post("/v1/batches", json={"items": [good, bad], "atomic": True})).json()
    assert [(i["status"], i["code"]) for i in failed["items"]] == [
        ("rejected", "batch.atomic_rolled_back"),
        ("rejected", "validation.missing"),
    ]
    assert (await cadre.get(f"/v1/households/{home['id']}")).json()["address"] != "原子"
    kept = await session.execute(text("SELECT count(*) FROM registry.batch_items"))
    assert kept.scalar_one() == 0  # nothing kept: the same items may be sent again
    fixed = {**bad, "item_id": str(uuid4()), "data": member("child")}
    done = (await cadre.post("/v1/batches", json={"items": [good, fixed], "atomic": True})).json()
    assert [i["status"] for i in done["items"]] == ["applied", "applied"]
    assert (await cadre.get(f"/v1/households/{home['id']}")).json()["address"] == "原子"


async def test_scope_and_masking(registry, villages) -> None:
    puan_cadre = registry.as_(Role.village_cadre, PUAN_VILLAGE)
    officer = registry.as_(Role.county_officer, XINGYI)
    elsewhere = await _household(officer, VILLAGE_A, "B0009")
    number = elsewhere["members"][0]["id_number"]  # a county officer sees it whole
    items = [
        op("household", "patch", id=elsewhere["id"], base_version=1, data={"address": "x"}),
        op("member", "create", household_id=elsewhere["id"], data=member("child")),
        op("household", "create",
           data=household(PUAN_VILLAGE, "B0010", members=[member("head", id_number=number)])),
        op("household", "create", data=household(VILLAGE_A, "B0011")),
    ]  # fmt: skip
    answer = await puan_cadre.post("/v1/batches", json={"items": items})
    body = answer.json()
    # As the single requests answer: another region's household is not found, an ID number
    # registered elsewhere is taken, a village outside the cadre's region is refused.
    assert [i["http_status"] for i in body["items"]] == [404, 404, 409, 422]
    assert body["items"][3]["code"].startswith("region.")
    assert [i["code"] for i in body["items"]][:2] == ["household.not_found"] * 2
    # Another county's household is never named, nor its member's ID number shown.
    assert elsewhere["id"] not in answer.text.replace(items[0]["id"], "")
    assert number not in answer.text
    assert "B0009" not in answer.text
    auditor = registry.as_(Role.auditor, PUAN)
    refused = await auditor.post("/v1/batches", json={"items": items[:1]})
    assert refused.status_code == 403
    too_many = {"items": [op("household", "create", data={})] * 1001}
    assert (await puan_cadre.post("/v1/batches", json=too_many)).status_code == 422
    unknown = await puan_cadre.post("/v1/batches", json={"items": items[:1], "colour": 1})
    assert unknown.status_code == 422

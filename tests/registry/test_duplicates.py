"""The duplicate review (查重): a county officer's scan proposes the pairs, scoped and masked
as every read; confirming departs one member (reason ``duplicate``, naming the kept one),
dismissing closes the pair for good; and creating a member answers possible duplicates."""

from datetime import date
from typing import Any

import pytest

from services.registry.duplicates import jobs as duplicate_jobs
from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI
from tests.registry.duplicates_kit import one_digit
from tests.registry.helpers import household, member

GIRL = idnumber.make("522301", date(1996, 4, 12), 222)
FATHER = idnumber.make("522301", date(1966, 2, 1), 111)
HUSBAND = idnumber.make("522301", date(1994, 8, 30), 333)
PUAN_HEAD = idnumber.make("522323", date(1970, 1, 1), 441)


async def _register(registry: Any) -> dict[str, Any]:
    """A daughter in her parents' household (village A) and, mistyped, as a wife in her
    husband's (village B); a household in another county."""
    cadre = registry.as_(Role.county_officer, XINGYI)
    parents = household(
        VILLAGE_A,
        "DUP-1",
        members=[
            member("head", name="杨国富", id_number=FATHER),
            member("child", name="杨秀兰", id_number=GIRL),
        ],
    )
    husband = household(
        VILLAGE_B,
        "DUP-2",
        members=[
            member("head", name="吴海", id_number=HUSBAND),
            member("spouse", name="杨秀兰", id_number=one_digit(GIRL, 8)),
        ],
    )
    created = {}
    for body in (parents, husband):
        answer = await cadre.post("/v1/households", json=body)
        assert answer.status_code == 201, answer.text
        created[body["household_no"]] = answer.json()
    other = registry.as_(Role.county_officer, PUAN)
    far = household(PUAN_VILLAGE, "DUP-3", members=[member("head", id_number=PUAN_HEAD)])
    assert (await other.post("/v1/households", json=far)).status_code == 201
    return created


async def _scan(registry: Any, job_ctx: dict[str, Any], region: str = XINGYI) -> dict[str, Any]:
    officer = registry.as_(Role.county_officer, XINGYI)
    started = await officer.post("/v1/duplicates/scans", json={"region_code": region})
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    scan_id = started.json()["id"]
    from uuid import UUID

    assert await duplicate_jobs.run_scan(job_ctx["session_maker"], UUID(scan_id)) == "done"
    scan = (await officer.get(f"/v1/duplicates/scans/{scan_id}")).json()
    assert (scan["status"], scan["progress"]) == ("done", 100)
    return scan


@pytest.fixture
async def registered(registry, villages) -> dict[str, Any]:
    return await _register(registry)


async def test_a_scan_proposes_the_married_daughter_scoped_and_masked(
    registry, job_ctx, registered
) -> None:
    scan = await _scan(registry, job_ctx)
    assert scan["members"] == 4
    assert scan["pairs"] == 1
    officer = registry.as_(Role.county_officer, XINGYI)
    [pair] = (await officer.get("/v1/duplicates", params={"region": XINGYI})).json()["items"]
    daughter = registered["DUP-1"]["members"][1]
    wife = registered["DUP-2"]["members"][1]
    assert set(pair["member_ids"]) == {daughter["id"], wife["id"]}
    assert set(pair["household_ids"]) == {registered["DUP-1"]["id"], registered["DUP-2"]["id"]}
    assert pair["probability"] > 0.9
    fields = {f["name"]: f for f in pair["fields"]}
    assert fields["name"]["agrees"]
    assert fields["name"]["weight"] > 0
    assert fields["id_number"]["level"] == "one_digit"
    assert {m["id_number"] for m in pair["members"]} == {GIRL, one_digit(GIRL, 8)}
    # A village cadre of village A sees no pair half outside; a township-wide reader below
    # county level sees the numbers masked; another county sees nothing.
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get("/v1/duplicates")).json()["items"] == []
    township = registry.as_(Role.township_officer, VILLAGE_A[:9] + "000")
    [seen] = (await township.get("/v1/duplicates")).json()["items"]
    assert all("*" in m["id_number"] and m["birth_date"] is None for m in seen["members"])
    puan = registry.as_(Role.county_officer, PUAN)
    assert (await puan.get("/v1/duplicates")).json()["items"] == []
    assert (await puan.get(f"/v1/duplicates/scans/{scan['id']}")).status_code == 404
    refused = await puan.post(f"/v1/duplicates/{pair['id']}/actions", json={"action": "dismiss"})
    assert refused.status_code == 404


async def test_only_county_officers_and_above_scan_and_decide(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    answer = await cadre.post("/v1/duplicates/scans", json={"region_code": VILLAGE_A})
    assert answer.status_code == 403
    officer = registry.as_(Role.county_officer, XINGYI)
    outside = await officer.post("/v1/duplicates/scans", json={"region_code": PUAN})
    assert outside.status_code == 422
    unknown = await officer.post("/v1/duplicates/scans", json={"region_code": XINGYI, "x": 1})
    assert unknown.status_code == 422


async def test_confirming_departs_the_other_member_linked_to_the_kept_one(
    registry, job_ctx, registered
) -> None:
    await _scan(registry, job_ctx)
    officer = registry.as_(Role.county_officer, XINGYI)
    [pair] = (await officer.get("/v1/duplicates")).json()["items"]
    daughter = registered["DUP-1"]["members"][1]["id"]
    wife = registered["DUP-2"]["members"][1]["id"]
    wrong = await officer.post(
        f"/v1/duplicates/{pair['id']}/actions",
        json={"action": "confirm", "keep_member_id": registered["DUP-1"]["id"]},
    )
    assert wrong.status_code == 422
    done = await officer.post(
        f"/v1/duplicates/{pair['id']}/actions",
        json={"action": "confirm", "keep_member_id": wife},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["kept_member_id"]) == ("confirmed", wife)
    parents = (await officer.get(f"/v1/households/{registered['DUP-1']['id']}")).json()
    gone = next(m for m in parents["members"] if m["id"] == daughter)
    assert (gone["resident"], gone["departure_reason"], gone["duplicate_of"]) == (
        False,
        "duplicate",
        wife,
    )
    history = (await officer.get(f"/v1/households/{registered['DUP-1']['id']}/history")).json()
    assert history["items"][0]["entity_id"] == daughter
    again = await officer.post(f"/v1/duplicates/{pair['id']}/actions", json={"action": "dismiss"})
    assert again.status_code == 409
    assert (await officer.get("/v1/duplicates")).json()["items"] == []
    confirmed = (await officer.get("/v1/duplicates", params={"status": "confirmed"})).json()
    assert [p["id"] for p in confirmed["items"]] == [pair["id"]]
    # A departure as a duplicate comes only from the review.
    cadre = registry.as_(Role.village_cadre, VILLAGE_B)
    husband = registered["DUP-2"]["members"][0]["id"]
    direct = await cadre.request(
        "DELETE",
        f"/v1/members/{husband}",
        json={"reason": "duplicate", "departed_on": "2026-12-01"},
    )
    assert direct.status_code == 422


async def test_a_dismissed_pair_is_never_proposed_again(registry, job_ctx, registered) -> None:
    await _scan(registry, job_ctx)
    officer = registry.as_(Role.county_officer, XINGYI)
    [pair] = (await officer.get("/v1/duplicates")).json()["items"]
    dismissed = await officer.post(
        f"/v1/duplicates/{pair['id']}/actions", json={"action": "dismiss"}
    )
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    rescan = await _scan(registry, job_ctx)
    assert rescan["pairs"] == 0
    assert (await officer.get("/v1/duplicates")).json()["items"] == []
    kept = (await officer.get("/v1/duplicates", params={"status": "dismissed"})).json()["items"]
    assert [p["id"] for p in kept] == [pair["id"]]


async def test_creating_a_member_answers_possible_duplicates(registry, registered) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    home = registered["DUP-1"]
    # The same girl again under a homophone (秀兰 / 秀岚) and a swapped pair of digits.
    number = GIRL[:3] + GIRL[4] + GIRL[3] + GIRL[5:17]
    number += idnumber.check_character(number)
    added = await cadre.post(
        f"/v1/households/{home['id']}/members",
        json=member("child", name="杨秀岚", id_number=number),
    )
    assert added.status_code == 201, added.text
    [found] = added.json()["possible_duplicates"]
    assert found["member_id"] == home["members"][1]["id"]
    assert found["probability"] > 0.5
    assert {f["name"] for f in found["fields"]} >= {"name", "id_number", "birth_date"}
    # A different person (the father's namesake, born elsewhere and another day) is no warning.
    other = idnumber.make("522301", date(2001, 9, 9), 555)
    fresh = await cadre.post(
        f"/v1/households/{home['id']}/members",
        json=member("child", name="杨小军", id_number=other),
    )
    assert fresh.status_code == 201
    assert fresh.json()["possible_duplicates"] == []


async def test_registering_a_household_warns_of_a_member_already_registered(
    registry, registered
) -> None:
    cadre = registry.as_(Role.county_officer, XINGYI)
    again = household(
        VILLAGE_B,
        "DUP-4",
        members=[member("head", name="杨国富", id_number=one_digit(FATHER, 15))],
    )
    answer = await cadre.post("/v1/households", json=again)
    assert answer.status_code == 201, answer.text
    [found] = answer.json()["possible_duplicates"]
    assert found["member_id"] == registered["DUP-1"]["members"][0]["id"]
    assert found["of_member_id"] == answer.json()["members"][0]["id"]


async def test_a_synced_household_answers_possible_duplicates_per_item(
    registry, registered
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    moved = {
        "external_id": "YD-1",
        "region_code": VILLAGE_B,
        "category": "poverty_alleviated",
        "members": [{"name": "杨国富", "id_number": one_digit(FATHER, 9), "relation": "head"}],
    }
    answer = await officer.post(
        "/v1/sync/households", json={"system": "relocation", "items": [moved]}
    )
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["items"]
    assert item["status"] == "created"
    assert [p["member_id"] for p in item["possible_duplicates"]] == [
        registered["DUP-1"]["members"][0]["id"]
    ]


async def test_an_imported_row_that_may_be_registered_is_a_warning_in_the_report(
    registry, job_ctx, registered
) -> None:
    from tests.registry.test_imports import csv_bytes, run
    from tests.registry.test_imports import member as ledger_row

    again = one_digit(GIRL, 9)
    result = await run(
        registry, job_ctx, csv_bytes([ledger_row("DUP-9", again, name="杨秀兰", region=VILLAGE_B)])
    )
    assert (result["accepted"], result["rejected"]) == (1, 0)
    [warning] = result["duplicate_warnings"]
    assert warning["row"] == 2
    assert warning["member_id"] == registered["DUP-1"]["members"][1]["id"]
    assert warning["probability"] > 0.5


async def test_the_check_at_entry_blocks_by_name_not_by_a_county_s_birth_year(
    registry, session, villages
) -> None:
    # Five people of one county born in 1990, none of them the newcomer: each shares the
    # first ten characters of the newcomer's ID number. Blocked by those alone, an import
    # chunk of a county ledger met every such pair (190 million at province scale, and its
    # worker ran out of memory); the scan's blocking asks for the same name or surname too.
    from services.registry.duplicates.repository import batch_candidates

    cadre = registry.as_(Role.county_officer, XINGYI)
    names = ["赵一", "钱二", "孙三", "周四", "吴五"]
    people = [
        member("head" if k == 0 else "child", name=name,
               id_number=idnumber.make("522301", date(1990, 1 + k, 3 + k), 100 + k))
        for k, name in enumerate(names)
    ]  # fmt: skip
    body = household(VILLAGE_A, "DUP-Y", members=people)
    assert (await cadre.post("/v1/households", json=body)).status_code == 201
    newcomer = idnumber.make("522301", date(1990, 11, 20), 777)
    body = household(VILLAGE_B, "DUP-Z", members=[member("head", name="郑六", id_number=newcomer)])
    assert (await cadre.post("/v1/households", json=body)).status_code == 201

    _, candidates, pairs = await batch_candidates(session, [newcomer])
    assert pairs.num_rows == 0
    assert candidates.num_rows == 0
    # One of them again under a mistyped number (the same name) is a candidate.
    again = one_digit(people[2]["id_number"], 16)
    body = household(VILLAGE_B, "DUP-W", members=[member("head", name="孙三", id_number=again)])
    assert (await cadre.post("/v1/households", json=body)).status_code == 201
    _, candidates, _ = await batch_candidates(session, [again])
    assert candidates.column("name").to_pylist() == ["孙三"]

"""What a user must be able to rely on across the registry: scope, masking in the history,
idempotent creates, failed requests that leave nothing behind."""

from datetime import date

from sqlalchemy import func, select

from services.registry.database import ChangeLogEntry
from services.registry.households import service as household_service
from services.registry.households.models import Household, Member
from services.registry.households.schemas import member_fact_errors
from shared.auth import Role
from tests.conftest import VILLAGE_A, VILLAGE_B, XINGYI, XINGYI_TOWNSHIP
from tests.registry.helpers import household, id_number, member


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_a_failed_request_leaves_nothing_written(registry, villages, session) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    taken = household(VILLAGE_A, "H-1")
    assert (await cadre.post("/v1/households", json=taken)).status_code == 201
    before = [await _count(session, m) for m in (Household, Member, ChangeLogEntry)]
    # The second member's number is already registered: the first member and the household
    # must not be left behind, nor their audit rows and change events.
    clash = household(
        VILLAGE_A,
        "H-2",
        members=[member(), member("spouse", id_number=taken["members"][1]["id_number"])],
    )
    response = await cadre.post("/v1/households", json=clash)
    assert response.status_code == 409
    assert (
        response.json()["household_id"]
        == (
            await session.scalar(select(Household.id).where(Household.household_no == "H-1"))
        ).__str__()
    )
    after = [await _count(session, m) for m in (Household, Member, ChangeLogEntry)]
    assert after == before


async def test_idempotency_key_replays_and_refuses_another_body(registry, villages, session):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    body = household(VILLAGE_A, "K-1")
    first = await cadre.post("/v1/households", json=body, headers={"Idempotency-Key": "k1"})
    replay = await cadre.post("/v1/households", json=body, headers={"Idempotency-Key": "k1"})
    assert (replay.status_code, replay.json()) == (201, first.json())
    other = await cadre.post(
        "/v1/households", json=household(VILLAGE_A, "K-2"), headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 409
    assert await _count(session, Household) == 1

    url = f"/v1/households/{first.json()['id']}/measures"
    measure = {"kind": "industry", "start": "2025-03-01", "amount": "2000.00"}
    m1 = await cadre.post(url, json=measure, headers={"Idempotency-Key": "m1"})
    m2 = await cadre.post(url, json=measure, headers={"Idempotency-Key": "m1"})
    assert m1.status_code == m2.status_code == 201
    assert m1.json()["id"] == m2.json()["id"]
    listed = (await cadre.get(url)).json()["items"]
    assert len(listed) == 1


async def test_the_next_village_is_invisible_on_every_household_path(registry, villages) -> None:
    other = (
        await registry.as_(Role.county_officer, XINGYI).post(
            "/v1/households", json=household(VILLAGE_B, "B-1")
        )
    ).json()
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    base = f"/v1/households/{other['id']}"
    for path in ("", "/economics", "/guarantees", "/measures", "/history"):
        assert (await cadre.get(base + path)).status_code == 404, path
    write = await cadre.put(f"{base}/economics/2024", json={"wage": "100"})
    assert write.status_code == 404
    member_id = other["members"][0]["id"]
    patch = await cadre.patch(
        f"/v1/members/{member_id}", json={"dibao": True}, headers={"If-Match": "1"}
    )
    assert patch.status_code == 404
    assert (await cadre.get("/v1/households", params={"q": "B-1"})).json()["items"] == []


async def test_read_only_roles_cannot_write_anything(registry, villages) -> None:
    created = (
        await registry.as_(Role.county_officer, XINGYI).post(
            "/v1/households", json=household(VILLAGE_A)
        )
    ).json()
    base = f"/v1/households/{created['id']}"
    for role in (Role.auditor, Role.department):
        user = registry.as_(role, XINGYI)
        assert (await user.get(base)).status_code == 200
        assert (await user.put(f"{base}/economics/2024", json={"wage": "1"})).status_code == 403
        assert (
            await user.put(
                f"{base}/guarantees",
                json={"basic_medical": {"ok": True, "checked_on": "2024-01-01"}},
            )
        ).status_code == 403
        assert (
            await user.post(f"{base}/measures", json={"kind": "industry", "start": "2025-01-01"})
        ).status_code == 403
        assert (await user.post(f"{base}/members", json=member("child"))).status_code == 403


async def test_history_masks_id_numbers_and_hides_names_as_reads_do(registry, villages) -> None:
    body = household(VILLAGE_A)
    number = body["members"][0]["id_number"]
    created = (
        await registry.as_(Role.village_cadre, VILLAGE_A).post("/v1/households", json=body)
    ).json()
    url = f"/v1/households/{created['id']}/history"

    def member_rows(response):
        return [h["new"] for h in response.json()["items"] if h["entity"] == "member"]

    township = member_rows(await registry.as_(Role.township_officer, XINGYI_TOWNSHIP).get(url))
    assert number not in {r["id_number"] for r in township}
    assert {r["id_number"][:4] for r in township} == {"5223"}
    county = member_rows(await registry.as_(Role.county_officer, XINGYI).get(url))
    assert number in {r["id_number"] for r in county}
    department = member_rows(await registry.as_(Role.department, XINGYI).get(url))
    assert {r["name"] for r in department} == {None}


async def test_member_patch_needs_if_match_and_keeps_identity(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    url = f"/v1/members/{created['members'][1]['id']}"
    assert (await cadre.patch(url, json={"dibao": True})).status_code == 428
    ok = await cadre.patch(url, json={"dibao": True}, headers={"If-Match": "1"})
    assert (ok.status_code, ok.json()["version"]) == (200, 2)
    assert (
        await cadre.patch(url, json={"tekun": True}, headers={"If-Match": "1"})
    ).status_code == 412
    bad = await cadre.patch(url, json={"disability_grade": 5}, headers={"If-Match": "2"})
    assert bad.status_code == 422


async def test_added_member_is_checked_against_the_id_number(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    url = f"/v1/households/{created['id']}/members"
    wrong = await cadre.post(
        url, json=member("child", id_number=id_number(date(2011, 2, 3)), birth_date="2011-02-04")
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "birth_date"
    taken = created["members"][0]["id_number"]  # masked for the cadre: use the officer's view
    full = (
        await registry.as_(Role.county_officer, XINGYI).get(f"/v1/households/{created['id']}")
    ).json()["members"][0]["id_number"]
    assert taken != full
    duplicate = await cadre.post(url, json=member("child", id_number=full))
    assert duplicate.status_code == 409
    assert duplicate.json()["household_no"] == created["household_no"]


async def test_departure_may_be_given_in_the_query(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    created = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    spouse = created["members"][1]
    url = f"/v1/members/{spouse['id']}"
    missing = await cadre.delete(url)
    assert missing.status_code == 422
    gone = await cadre.delete(url, params={"reason": "marriage_out", "departed_on": "2024-10-01"})
    assert gone.status_code == 200, gone.text
    assert (gone.json()["resident"], gone.json()["departure_reason"]) == (False, "marriage_out")
    assert (
        await cadre.delete(url, params={"reason": "moved", "departed_on": "2024-10-02"})
    ).status_code == 409


def test_member_facts_rule_names_each_field_that_disagrees_with_the_id_number() -> None:
    """The one rule the API's schemas and the registry's bulk sync apply to a member."""
    number = id_number(date(1990, 1, 2), male=False)
    assert member_fact_errors(number, "female", date(1990, 1, 2)) == {}
    assert member_fact_errors(number, "male", date(1990, 1, 3)) == {
        "sex": "the ID number says female",
        "birth_date": "the ID number says 1990-01-02",
    }
    assert list(member_fact_errors(number[:17] + "?", None, None)) == ["id_number"]


async def test_a_failure_midway_rolls_back_the_whole_household(
    registry, villages, session, monkeypatch
) -> None:
    real = household_service.publish
    calls = []

    async def failing_on_a_member(*args, **kwargs):
        calls.append(kwargs["entity"])
        if len(calls) == 2:  # the household, its audit row and event are already flushed
            raise RuntimeError("the database went away")
        await real(*args, **kwargs)

    monkeypatch.setattr(household_service, "publish", failing_on_a_member)
    before = [await _count(session, m) for m in (Household, Member, ChangeLogEntry)]
    response = await registry.as_(Role.village_cadre, VILLAGE_A).post(
        "/v1/households", json=household(VILLAGE_A, "R-1")
    )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    after = [await _count(session, m) for m in (Household, Member, ChangeLogEntry)]
    assert after == before

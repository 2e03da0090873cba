"""Yearly economics, the guarantees, help measures and cadres, history and the audit log."""

from datetime import UTC, date, datetime, timedelta

import pytest

from shared import clock
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.registry.helpers import household, id_number, member

INCOME = {
    "wage": "18000.00",
    "operating": "3500",
    "property": "0",
    "transfer": "2400.50",
    "medical_out_of_pocket": "6000",
    "education": "1200",
    "disaster_loss": "0",
    "other_rigid": "0",
}


@pytest.fixture
async def cadre(registry, villages):
    return registry.as_(Role.village_cadre, VILLAGE_A, sub="cadre-wang")


@pytest.fixture
async def home(cadre) -> dict:
    members = [
        member("head"),
        member("spouse", id_number=id_number(date(1982, 3, 9), male=False)),
        member("child", id_number=id_number(date(2010, 1, 1))),
    ]
    return (await cadre.post("/v1/households", json=household(VILLAGE_A, members=members))).json()


async def test_per_capita_income_divides_by_resident_members_only(cadre, home) -> None:
    url = f"/v1/households/{home['id']}/economics/2024"
    three = (await cadre.put(url, json=INCOME)).json()
    assert three["net_income"] == "23900.50"
    assert three["rigid_expenses"] == "7200.00"
    assert three["per_capita_net_income"] == "5566.83"  # 16700.50 / 3, rounded half-up
    child = home["members"][2]
    await cadre.request(
        "DELETE",
        f"/v1/members/{child['id']}",
        json={"reason": "moved", "departed_on": "2024-12-01"},
    )
    two = (await cadre.put(url, json=INCOME)).json()
    assert two["resident_members"] == 2
    assert two["per_capita_net_income"] == "8350.25"
    assert two["version"] == 2


async def test_negative_income_and_future_year_are_refused(cadre, home) -> None:
    bad = await cadre.put(
        f"/v1/households/{home['id']}/economics/2024", json=INCOME | {"wage": "-1"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "wage"
    future = await cadre.put(
        f"/v1/households/{home['id']}/economics/{clock.today().year + 1}", json=INCOME
    )
    assert future.status_code == 422
    three_decimals = await cadre.put(
        f"/v1/households/{home['id']}/economics/2024", json=INCOME | {"wage": "1.001"}
    )
    assert three_decimals.status_code == 422


async def test_guarantees_keep_history_and_say_whether_all_hold(cadre, home) -> None:
    url = f"/v1/households/{home['id']}/guarantees"
    all_ok = {
        k: {"ok": True, "checked_on": "2024-05-01"}
        for k in (
            "food_clothing",
            "compulsory_education",
            "basic_medical",
            "housing_safety",
            "drinking_water",
        )
    }
    assert (await cadre.put(url, json=all_ok)).json()["all_ok"] is True
    lost = await cadre.put(
        url, json={"housing_safety": {"ok": False, "checked_on": "2024-09-01", "note": "C级危房"}}
    )
    body = lost.json()
    assert body["all_ok"] is False
    assert body["current"]["housing_safety"]["note"] == "C级危房"
    assert len(body["history"]) == 6
    assert (await cadre.put(url, json={})).status_code == 422


async def test_measures_link_a_cadre_and_a_project(registry, cadre, home) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    cadre_row = (
        await officer.post(
            "/v1/cadres", json={"name": "李书记", "region_code": XINGYI, "rank": "county"}
        )
    ).json()
    measure = await cadre.post(
        f"/v1/households/{home['id']}/measures",
        json={
            "kind": "employment",
            "description": "公益岗位",
            "start": "2025-01-01",
            "amount": "6000.00",
            "responsible_cadre_id": cadre_row["id"],
            "project_id": "7d4c2c1e-1111-4c1e-9c1e-1234567890ab",
        },
    )
    assert measure.status_code == 201, measure.text
    listed = (await cadre.get(f"/v1/households/{home['id']}/measures")).json()["items"]
    assert [(m["kind"], m["amount"]) for m in listed] == [("employment", "6000.00")]
    bad_kind = await cadre.post(
        f"/v1/households/{home['id']}/measures", json={"kind": "magic", "start": "2025-01-01"}
    )
    assert bad_kind.status_code == 422
    backwards = await cadre.post(
        f"/v1/households/{home['id']}/measures",
        json={"kind": "industry", "start": "2025-02-01", "end": "2025-01-01"},
    )
    assert backwards.status_code == 422


async def test_cadre_pairing_is_idempotent(registry, home) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    cadre_row = (
        await officer.post(
            "/v1/cadres", json={"name": "张科长", "region_code": XINGYI, "rank": "section"}
        )
    ).json()
    url = f"/v1/cadres/{cadre_row['id']}/households"
    first = (await officer.post(url, json={"household_ids": [home["id"]]})).json()
    again = (await officer.post(url, json={"household_ids": [home["id"]]})).json()
    assert first["paired"] == [home["id"]]
    assert again["already_paired"] == [home["id"]]
    assert again["total_households"] == 1
    read = (await officer.get(f"/v1/cadres/{cadre_row['id']}")).json()
    assert (read["households"], read["pairing_target"]) == (1, 5)


async def test_history_shows_every_change_with_actor(cadre, home) -> None:
    await cadre.put(f"/v1/households/{home['id']}/economics/2024", json=INCOME)
    await cadre.patch(
        f"/v1/households/{home['id']}", json={"address": "二组"}, headers={"If-Match": "1"}
    )
    history = (await cadre.get(f"/v1/households/{home['id']}/history")).json()["items"]
    assert [(h["entity"], h["action"]) for h in history[:2]] == [
        ("household", "update"),
        ("economics", "create"),
    ]
    assert history[0]["old"] == {"address": "丰都村一组"}
    assert history[0]["new"] == {"address": "二组"}
    assert {h["actor"] for h in history} == {"cadre-wang"}
    page = (await cadre.get(f"/v1/households/{home['id']}/history", params={"limit": 2})).json()
    rest = (
        await cadre.get(
            f"/v1/households/{home['id']}/history", params={"cursor": page["next_cursor"]}
        )
    ).json()
    assert len(page["items"]) + len(rest["items"]) == len(history)


async def test_audit_log_is_for_auditors_and_officers(registry, cadre, home) -> None:
    assert (await cadre.get("/v1/audit")).status_code == 403
    auditor = registry.as_(Role.auditor, XINGYI)
    rows = (await auditor.get("/v1/audit", params={"actor": "cadre-wang"})).json()["items"]
    assert {r["entity"] for r in rows} == {"household", "member"}
    by_entity = (await auditor.get("/v1/audit", params={"entity_id": home["id"]})).json()["items"]
    assert [r["action"] for r in by_entity] == ["create"]


async def test_at_1am_in_china_dates_are_judged_by_chinas_calendar(
    cadre, home, server_on_utc
) -> None:
    # New Year's Day, 01:00 in China (17:00 UTC on 31 December): the new year's figures may
    # be entered, and a check or a departure made today is not "in the future".
    year = datetime.now(UTC).year
    with clock.frozen(datetime(year, 12, 31, 17, tzinfo=UTC)):
        china_today = date(year + 1, 1, 1)
        assert date.today() < china_today  # the server's own calendar is still in the old year
        economics = await cadre.put(
            f"/v1/households/{home['id']}/economics/{year + 1}", json=INCOME
        )
        assert economics.status_code == 200, economics.text
        checked = await cadre.put(
            f"/v1/households/{home['id']}/guarantees",
            json={"drinking_water": {"ok": True, "checked_on": china_today.isoformat()}},
        )
        assert checked.status_code == 200, checked.text
        child = home["members"][2]
        departed = await cadre.request(
            "DELETE",
            f"/v1/members/{child['id']}",
            json={"reason": "moved", "departed_on": china_today.isoformat()},
        )
        assert departed.status_code in (200, 204), departed.text
        tomorrow = await cadre.put(
            f"/v1/households/{home['id']}/guarantees",
            json={
                "food_clothing": {
                    "ok": True,
                    "checked_on": (china_today + timedelta(days=1)).isoformat(),
                }
            },
        )
        assert tomorrow.status_code == 422

"""Regions: the shipped Guizhou divisions, tree queries, bulk upsert, scope."""

from shared.auth import Role
from tests.conftest import PUAN, VILLAGE_A, XINGYI, XINGYI_TOWNSHIP

GUIZHOU = "520000000000"


async def test_all_9_prefectures_and_88_counties_ship(registry) -> None:
    admin = registry.as_(Role.province_admin, GUIZHOU)
    prefectures = (await admin.get("/v1/regions", params={"parent": GUIZHOU})).json()["items"]
    assert len(prefectures) == 9
    counties = 0
    for prefecture in prefectures:
        page = (
            await admin.get("/v1/regions", params={"parent": prefecture["code"], "limit": 1000})
        ).json()
        counties += len(page["items"])
    assert counties == 88
    xingyi = (await admin.get(f"/v1/regions/{XINGYI}")).json()
    assert xingyi == {
        "code": XINGYI,
        "name": "兴义市",
        "parent_code": "522300000000",
        "level": "county",
    }


async def test_bulk_upsert_creates_then_reports_unchanged(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    body = [{"code": XINGYI_TOWNSHIP, "name": "丰都街道"}, {"code": VILLAGE_A, "name": "丰都村"}]
    first = await officer.put("/v1/regions", json=body)
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = await officer.put("/v1/regions", json=body)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}
    renamed = await officer.put("/v1/regions", json=[{"code": VILLAGE_A, "name": "丰都社区"}])
    assert renamed.json() == {"created": 0, "updated": 1, "unchanged": 0}


async def test_bulk_upsert_is_all_or_nothing(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    body = [
        {"code": XINGYI_TOWNSHIP, "name": "丰都街道"},
        {"code": "522301200001", "name": "孤儿村"},
    ]
    response = await officer.put("/v1/regions", json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "1.parent_code",
            "message": "parent region 522301200000 is unknown",
            "code": "region.parent_unknown",
        }
    ]
    assert (await officer.get(f"/v1/regions/{XINGYI_TOWNSHIP}")).status_code == 404


async def test_a_county_cannot_write_another_county(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.put("/v1/regions", json=[{"code": "522323100000", "name": "x"}])
    assert response.status_code == 422
    assert "outside your region" in response.json()["errors"][0]["message"]


async def test_regions_outside_scope_are_404_but_ancestors_are_visible(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.get(f"/v1/regions/{XINGYI}")).status_code == 200
    assert (await cadre.get(f"/v1/regions/{PUAN}")).status_code == 404


async def test_bad_code_shape_is_422(registry) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.put("/v1/regions", json=[{"code": "5223", "name": "x"}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "0.code"

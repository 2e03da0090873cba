"""A partner system's id names one household, whether it came by the API or by sync."""

from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.registry.helpers import household, member


async def test_an_external_id_belongs_to_one_household(registry, villages) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    first = await officer.post(
        "/v1/households", json=household(VILLAGE_A, "E-1", external_ids={"civil_affairs": "CA-7"})
    )
    assert first.status_code == 201, first.text
    clash = await officer.post(
        "/v1/households", json=household(VILLAGE_A, "E-2", external_ids={"civil_affairs": "CA-7"})
    )
    assert clash.status_code == 409
    assert clash.json()["household_no"] == "E-1"
    second = (await officer.post("/v1/households", json=household(VILLAGE_A, "E-2"))).json()
    taken = await officer.patch(
        f"/v1/households/{second['id']}",
        json={"external_ids": {"civil_affairs": "CA-7"}},
        headers={"If-Match": "1"},
    )
    assert taken.status_code == 409
    # E-1 lets the id go; now E-2 may take it.
    await officer.patch(
        f"/v1/households/{first.json()['id']}",
        json={"external_ids": {}},
        headers={"If-Match": "1"},
    )
    moved = await officer.patch(
        f"/v1/households/{second['id']}",
        json={"external_ids": {"civil_affairs": "CA-7"}},
        headers={"If-Match": "1"},
    )
    assert moved.status_code == 200, moved.text
    too_long = await officer.post(
        "/v1/households", json=household(VILLAGE_A, "E-3", external_ids={"x" * 51: "1"})
    )
    assert too_long.status_code == 422


async def test_sync_finds_a_household_registered_through_the_api(registry, villages) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    head = member()
    created = (
        await officer.post(
            "/v1/households",
            json=household(
                VILLAGE_A, "E-9", members=[head], external_ids={"civil_affairs": "CA-9"}
            ),
        )
    ).json()
    synced = await officer.post(
        "/v1/sync/households",
        json={
            "system": "civil_affairs",
            "items": [
                {
                    "external_id": "CA-9",
                    "region_code": VILLAGE_A,
                    "category": "poverty_alleviated",
                    "address": "丰都村三组",
                    "members": [head],
                }
            ],
        },
    )
    assert synced.status_code == 200, synced.text
    result = synced.json()["items"][0]
    assert (result["status"], result["household_id"]) == ("updated", created["id"])


async def test_an_external_id_held_in_another_region_does_not_say_where(registry, villages) -> None:
    from tests.conftest import PUAN_VILLAGE

    puan = registry.as_(Role.village_cadre, PUAN_VILLAGE)
    body = household(PUAN_VILLAGE, "P-1", external_ids={"civil_affairs": "CA-9"})
    assert (await puan.post("/v1/households", json=body)).status_code == 201
    xingyi = registry.as_(Role.village_cadre, VILLAGE_A)
    clash = await xingyi.post(
        "/v1/households", json=household(VILLAGE_A, "E-9", external_ids={"civil_affairs": "CA-9"})
    )
    assert clash.status_code == 409
    assert clash.json()["detail"] == "the civil_affairs id is already taken"
    assert "P-1" not in clash.text

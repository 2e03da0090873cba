"""HTTP conventions of the registry: every 201 says where the new resource lives; single
resources carry a weak ETag from their version and answer 304 when unchanged."""

from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.http_conventions import assert_created_at, routes_answering
from tests.registry.helpers import household, member

PROVINCE = "520000000000"

# Every route answering 201, with its Location. A new 201 route fails the first test until
# it is listed here (and tested below).
LOCATIONS = {
    ("POST", "/v1/households"): "/v1/households/{id}",
    ("POST", "/v1/households/{household_id}/members"): "/v1/members/{id}",
    ("POST", "/v1/households/{household_id}/measures"): (
        "/v1/households/{household_id}/measures/{id}"
    ),
    ("POST", "/v1/cadres"): "/v1/cadres/{id}",
    ("POST", "/v1/users"): "/v1/users/{id}",
    ("POST", "/v1/clients"): "/v1/clients/{id}",
}


async def test_every_201_route_is_listed(registry) -> None:
    assert routes_answering(registry.app, "201") == set(LOCATIONS)


async def test_every_201_names_the_created_resource(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    officer = registry.as_(Role.county_officer, XINGYI)
    admin = registry.as_(Role.province_admin, PROVINCE)
    tested = set()

    async def created(method: str, path: str, client, url: str, **kwargs) -> dict:
        answer = await client.request(method, url, **kwargs)
        await assert_created_at(client, answer, LOCATIONS[(method, path)])
        tested.add((method, path))
        return answer.json()

    home = await created(
        "POST", "/v1/households", cadre, "/v1/households", json=household(VILLAGE_A)
    )
    members = f"/v1/households/{home['id']}/members"
    await created(
        "POST", "/v1/households/{household_id}/members", cadre, members, json=member("other")
    )
    cadre_row = await created(
        "POST",
        "/v1/cadres",
        officer,
        "/v1/cadres",
        json={"name": "李书记", "region_code": XINGYI, "rank": "county"},
    )
    measure = {"kind": "employment", "start": "2025-01-01", "responsible_cadre_id": cadre_row["id"]}
    await created(
        "POST",
        "/v1/households/{household_id}/measures",
        cadre,
        f"/v1/households/{home['id']}/measures",
        json=measure,
    )
    user = {
        "username": "located-officer",
        "password": "correct horse battery",
        "role": "county_officer",
        "region_code": XINGYI,
    }
    await created("POST", "/v1/users", admin, "/v1/users", json=user)
    client = {"name": "兴义市医保局", "region_code": XINGYI, "scopes": ["signals:write"]}
    await created("POST", "/v1/clients", admin, "/v1/clients", json=client)
    assert tested == set(LOCATIONS)


async def test_a_replayed_create_names_the_same_location(registry, villages) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    body = household(VILLAGE_A, household_no="H-REPLAY")
    key = {"Idempotency-Key": "replay-location-1"}
    first = await cadre.post("/v1/households", json=body, headers=key)
    again = await cadre.post("/v1/households", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"] == f"/v1/households/{first.json()['id']}"

"""HTTP conventions of the registry: every 201 says where the new resource lives; single
resources carry a weak ETag from their version and answer 304 when unchanged."""

from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.http_conventions import (
    assert_created_at,
    assert_etag_and_304,
    routes_answering,
    versioned_get_paths,
)
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

# Subscribing answers 201 with Location /v1/webhooks/{id}: tested with the webhooks
# (tests/registry/test_webhooks.py), where a receiver and a client token are at hand.
WEBHOOK_SUBSCRIBE = {("POST", "/v1/webhooks")}


async def test_every_201_route_is_listed(registry) -> None:
    assert routes_answering(registry.app, "201") == set(LOCATIONS) | WEBHOOK_SUBSCRIBE


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


async def test_single_resources_answer_an_etag_and_304_when_unchanged(registry, villages) -> None:
    from tests.registry.test_economics_guarantees_measures import INCOME

    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    officer = registry.as_(Role.county_officer, XINGYI)
    admin = registry.as_(Role.province_admin, PROVINCE)
    home = (await cadre.post("/v1/households", json=household(VILLAGE_A))).json()
    economics = f"/v1/households/{home['id']}/economics/2024"
    assert (await cadre.put(economics, json=INCOME)).status_code == 200
    cadre_row = await officer.post(
        "/v1/cadres", json={"name": "李书记", "region_code": XINGYI, "rank": "county"}
    )
    user = {
        "username": "etag-officer",
        "password": "correct horse battery",
        "role": "county_officer",
        "region_code": XINGYI,
    }
    user_row = await admin.post("/v1/users", json=user)
    client_row = await admin.post("/v1/clients", json={"name": "医保局", "region_code": XINGYI})
    urls = {
        "/v1/households/{household_id}": (cadre, f"/v1/households/{home['id']}"),
        "/v1/households/{household_id}/economics/{year}": (cadre, economics),
        "/v1/cadres/{cadre_id}": (officer, f"/v1/cadres/{cadre_row.json()['id']}"),
        "/v1/users/{user_id}": (admin, f"/v1/users/{user_row.json()['id']}"),
        "/v1/clients/{client_id}": (admin, f"/v1/clients/{client_row.json()['id']}"),
    }
    # Walked from the OpenAPI document: a new single-resource GET must be added here.
    assert versioned_get_paths(registry.app) == set(urls)
    for client, url in urls.values():
        await assert_etag_and_304(client, url)


async def test_writes_answer_the_new_etag_and_if_match_takes_it_or_the_version(
    registry, villages
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    created = await cadre.post("/v1/households", json=household(VILLAGE_A))
    assert created.headers["ETag"] == 'W/"1"'
    url = created.headers["Location"]
    # The ETag as sent...
    first = await cadre.patch(url, json={"address": "丰都村二组"}, headers={"If-Match": 'W/"1"'})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == 'W/"2"'
    # ...or the bare version.
    second = await cadre.patch(url, json={"address": "丰都村三组"}, headers={"If-Match": "2"})
    assert second.status_code == 200, second.text
    assert second.headers["ETag"] == 'W/"3"'
    stale = await cadre.patch(url, json={"address": "x"}, headers={"If-Match": 'W/"2"'})
    assert stale.status_code == 412
    assert "ETag" not in stale.headers
    # The old ETag no longer matches: the client reads the changed household in full.
    changed = await cadre.get(url, headers={"If-None-Match": 'W/"2"'})
    assert changed.status_code == 200
    assert changed.json()["address"] == "丰都村三组"
    # Lists carry no ETag (they are not one resource).
    assert "ETag" not in (await cadre.get("/v1/households")).headers

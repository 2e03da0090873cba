"""HTTP conventions of the monitoring service: every 201 says where the new resource lives;
single resources carry a weak ETag from their version and answer 304 when unchanged."""

from datetime import date

from shared import idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI
from tests.http_conventions import (
    assert_created_at,
    assert_etag_and_304,
    routes_answering,
    versioned_get_paths,
)
from tests.monitoring.test_policy import BODY, PROVINCE

# Every route answering 201, with its Location. A new 201 route fails the first test until
# it is listed here (and tested below).
LOCATIONS = {
    ("POST", "/v1/cases"): "/v1/cases/{id}",
    ("POST", "/v1/declarations"): "/v1/declarations/{tracking_code}",
    ("PUT", "/v1/policy/{year}"): "/v1/policy/{year}?region={region_code}",
    ("PUT", "/v1/scorecards/{year}"): "/v1/scorecards/{year}?region={region_code}",
}

# Subscribing answers 201 with Location /v1/webhooks/{id}: tested with the webhooks
# (tests/registry/test_webhooks.py), where a receiver and a client token are at hand.
WEBHOOK_SUBSCRIBE = {("POST", "/v1/webhooks")}


async def test_every_201_route_is_listed(monitoring) -> None:
    assert routes_answering(monitoring.app, "201") == set(LOCATIONS) | WEBHOOK_SUBSCRIBE


async def test_every_201_names_the_created_resource(monitoring, feed, villages) -> None:
    household = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    case = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    await assert_created_at(cadre, case, LOCATIONS[("POST", "/v1/cases")])

    declaration = {
        "name": "张三",
        "id_number": idnumber.make("522301", date(1980, 6, 1), 77),
        "phone": "13800007777",
        "village_code": VILLAGE_A,
        "reason": "illness",
        "description": "家人重病住院",
    }
    answer = await monitoring.post("/v1/declarations", json=declaration)
    await assert_created_at(monitoring, answer, LOCATIONS[("POST", "/v1/declarations")])

    admin = monitoring.as_(Role.province_admin, PROVINCE)
    policy = await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)
    await assert_created_at(admin, policy, LOCATIONS[("PUT", "/v1/policy/{year}")])
    card = await admin.put(f"/v1/scorecards/2024?region={PROVINCE}", json={})
    await assert_created_at(admin, card, LOCATIONS[("PUT", "/v1/scorecards/{year}")])


async def test_single_resources_answer_an_etag_and_304_when_unchanged(
    monitoring, feed, villages
) -> None:
    household = await feed.household(VILLAGE_A)
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    case = await cadre.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert case.headers["ETag"] == f'W/"{case.json()["version"]}"'
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    assert (await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)).status_code == 201
    assert (await admin.put(f"/v1/scorecards/2024?region={PROVINCE}", json={})).status_code == 201
    urls = {
        "/v1/cases/{case_id}": (cadre, case.headers["Location"]),
        "/v1/policy/{year}": (admin, f"/v1/policy/2024?region={PROVINCE}"),
        "/v1/scorecards/{year}": (admin, f"/v1/scorecards/2024?region={PROVINCE}"),
    }
    # Walked from the OpenAPI document: a new single-resource GET must be added here. A
    # signal has a version (its feed events) but no ETag: an alert raised later adds to its
    # alert_ids without a new version.
    assert versioned_get_paths(monitoring.app) == set(urls) | {"/v1/signals/{signal_id}"}
    for client, url in urls.values():
        await assert_etag_and_304(client, url)

    # An action is a new version: the answer carries its ETag and the old one reads again.
    old = case.headers["ETag"]
    acted = await cadre.post(
        f"{case.headers['Location']}/actions",
        json={"action": "verify", "note": "入户核实"},
        headers={"If-Match": old},
    )
    assert acted.status_code == 200, acted.text
    assert acted.headers["ETag"] == f'W/"{acted.json()["version"]}"' != old
    assert (
        await cadre.get(case.headers["Location"], headers={"If-None-Match": old})
    ).status_code == 200


async def test_a_county_reading_the_provinces_policy_gets_no_etag_its_own_may_reuse(
    monitoring,
) -> None:
    admin = monitoring.as_(Role.province_admin, PROVINCE)
    assert (await admin.put(f"/v1/policy/2024?region={PROVINCE}", json=BODY)).status_code == 201
    officer = monitoring.as_(Role.county_officer, XINGYI)
    inherited = await officer.get("/v1/policy/2024")
    assert inherited.json()["region_code"] == PROVINCE
    assert "ETag" not in inherited.headers
    assert "x-povguard-untagged" not in inherited.headers
    # The county's own policy is version 1 too: had the province's carried W/"1", a client
    # holding it would have been told 304 and kept the province's line.
    tighter = {**BODY, "monitoring_line": "7000.00"}
    assert (await officer.put(f"/v1/policy/2024?region={XINGYI}", json=tighter)).status_code == 201
    own = await officer.get("/v1/policy/2024", headers={"If-None-Match": 'W/"1"'})
    assert own.status_code == 304
    assert own.headers["ETag"] == 'W/"1"'
    assert (await officer.get("/v1/policy/2024")).json()["monitoring_line"] == "7000.00"

"""HTTP conventions of the monitoring service: every 201 says where the new resource lives;
single resources carry a weak ETag from their version and answer 304 when unchanged."""

from datetime import date

from shared import idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A
from tests.http_conventions import assert_created_at, routes_answering
from tests.monitoring.test_policy import BODY, PROVINCE

# Every route answering 201, with its Location. A new 201 route fails the first test until
# it is listed here (and tested below).
LOCATIONS = {
    ("POST", "/v1/cases"): "/v1/cases/{id}",
    ("POST", "/v1/declarations"): "/v1/declarations/{tracking_code}",
    ("PUT", "/v1/policy/{year}"): "/v1/policy/{year}?region={region_code}",
}


async def test_every_201_route_is_listed(monitoring) -> None:
    assert routes_answering(monitoring.app, "201") == set(LOCATIONS)


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

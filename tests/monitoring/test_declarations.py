"""Self-declarations: no login, validated, rate-limited, deduplicated against open cases."""

from datetime import date

import httpx

from shared import idnumber
from shared.auth import Role
from shared.registry_client import RegistryClient
from tests.conftest import VILLAGE_A, XINGYI


def _body(number: str, phone: str = "13800001234") -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": number,
        "phone": phone,
        "village_code": VILLAGE_A,
        "reason": "illness",
        "description": "家人重病住院",
    }


async def test_a_declaration_opens_a_case_and_tells_only_its_stage(monitoring, feed) -> None:
    h = await feed.household(VILLAGE_A)
    anonymous = monitoring
    response = await anonymous.post("/v1/declarations", json=_body(h["id_numbers"][0]))
    assert response.status_code == 201, response.text
    code = response.json()["tracking_code"]
    assert set(response.json()) == {"tracking_code"}
    status = await anonymous.get(f"/v1/declarations/{code}")
    assert status.json() == {"tracking_code": code, "stage": "discovered"}
    cases = (await monitoring.as_(Role.county_officer, XINGYI).get("/v1/cases")).json()["items"]
    assert len(cases) == 1
    assert cases[0]["channel"] == "declaration"
    assert cases[0]["household_id"] == str(h["id"])
    # Another member of the same household declares: no second case.
    second = await anonymous.post(
        "/v1/declarations", json=_body(h["id_numbers"][1], phone="13800005678")
    )
    assert second.status_code == 201
    assert (
        len((await monitoring.as_(Role.county_officer, XINGYI).get("/v1/cases")).json()["items"])
        == 1
    )
    assert (await anonymous.get("/v1/declarations/FPNOSUCHCODE")).status_code == 404


async def test_declarations_are_validated_and_rate_limited(monitoring, villages) -> None:
    person = idnumber.make("522301", date(1975, 3, 3), 41)
    bad_id = await monitoring.post(
        "/v1/declarations", json=_body(person[:-1] + ("0" if person[-1] != "0" else "1"))
    )
    assert bad_id.status_code == 422
    bad_village = await monitoring.post(
        "/v1/declarations", json={**_body(person), "village_code": XINGYI}
    )
    assert bad_village.status_code == 422
    statuses = [
        (
            await monitoring.post("/v1/declarations", json=_body(person, phone="13900009999"))
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [201] * 5
    assert statuses[5] == 429


async def test_an_unknown_declarant_must_name_a_village_the_registry_knows(
    monitoring, villages
) -> None:
    person = idnumber.make("522301", date(1980, 6, 1), 17)
    # Well formed, village level, but no such village in the registry.
    response = await monitoring.post(
        "/v1/declarations", json={**_body(person), "village_code": "522301100099"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["village_code"]
    cases = await monitoring.as_(Role.county_officer, XINGYI).get("/v1/cases")
    assert cases.json()["items"] == []

    known = await monitoring.post("/v1/declarations", json=_body(person))
    assert known.status_code == 201


async def test_a_declaration_is_kept_while_the_registry_is_down(monitoring, settings) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    monitoring.app.state.registry_client = RegistryClient(http, settings, base_url="http://r")
    person = idnumber.make("522301", date(1980, 6, 1), 19)
    response = await monitoring.post("/v1/declarations", json=_body(person))
    assert response.status_code == 201
    code = response.json()["tracking_code"]
    assert (await monitoring.get(f"/v1/declarations/{code}")).json()["stage"] == "discovered"
    await http.aclose()


async def test_a_declarant_registered_later_brings_their_household_to_the_case(
    monitoring, feed, villages
) -> None:
    # Not in the registry yet: the case opens without a household.
    number = idnumber.make(VILLAGE_A, date(1980, 1, 1), 500)
    response = await monitoring.post("/v1/declarations", json=_body(number))
    assert response.status_code == 201, response.text
    county = monitoring.as_(Role.county_officer, XINGYI)
    (case,) = (await county.get("/v1/cases")).json()["items"]
    assert case["household_id"] is None

    # The village registers the household (the projection sees it), then verifies the case.
    household = await feed.household(VILLAGE_A, sequence=500)
    assert household["id_numbers"][0] == number
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verified = await cadre.post(f"/v1/cases/{case['id']}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["household_id"] == str(household["id"])


async def test_a_declarant_registered_in_another_county_stays_out_of_the_case(
    monitoring, feed, villages
) -> None:
    from tests.conftest import PUAN, PUAN_VILLAGE

    number = idnumber.make(PUAN_VILLAGE, date(1980, 1, 1), 600)
    declared = await monitoring.post("/v1/declarations", json=_body(number, phone="13800006000"))
    assert declared.status_code == 201, declared.text
    county = monitoring.as_(Role.county_officer, XINGYI)
    (case,) = (await county.get("/v1/cases")).json()["items"]
    # The person turns up registered in Puan, another county.
    household = await feed.household(PUAN_VILLAGE, sequence=600)
    assert household["id_numbers"][0] == number
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    verified = await cadre.post(f"/v1/cases/{case['id']}/actions", json={"action": "verify"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["household_id"] is None
    # Puan still opens its own case for its household.
    puan = monitoring.as_(Role.county_officer, PUAN)
    opened = await puan.post(
        "/v1/cases", json={"household_id": str(household["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text

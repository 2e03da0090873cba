"""No list of the registry shows another county's records, however wide the region asked for.

The walk takes every GET route from the OpenAPI document, so a list added tomorrow is
called too; a route it cannot call (an unknown required parameter) fails the test."""

from datetime import date

import pytest

from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI
from tests.registry.walk import fill, get_operations, is_list, seed, unbounded_parameters

PROVINCE = "520000000000"


@pytest.fixture
async def two_counties(registry, job_ctx, villages) -> tuple[dict[str, str], dict[str, str]]:
    xingyi = await seed(
        registry,
        job_ctx,
        county=XINGYI,
        village=VILLAGE_A,
        area="522301",
        household_no="XY-SECRET-1",
        born=date(1975, 4, 3),
        sequence=211,
    )
    puan = await seed(
        registry,
        job_ctx,
        county=PUAN,
        village=PUAN_VILLAGE,
        area="522323",
        household_no="PA-1",
        born=date(1983, 8, 21),
        sequence=213,
    )
    return xingyi, puan


def xingyi_traces(xingyi: dict[str, str]) -> list[str]:
    """What of Xingyi must never reach a Puan officer: its region code digits (every region
    code, ID number and household number of the county starts with them) and its records."""
    return [
        "522301",
        xingyi["household_no"],
        xingyi["household_id"],
        xingyi["member_id"],
        xingyi["cadre_id"],
        xingyi["import_id"],
    ]


async def test_every_list_route_shows_a_county_officer_nothing_of_another_county(
    registry, two_counties
) -> None:
    xingyi, puan = two_counties
    officer = registry.as_(Role.county_officer, PUAN)
    # Path parameters name Xingyi's records (an attacker's guess); lists are asked for the
    # whole province and for the default.
    path_values = {
        "household_id": xingyi["household_id"],
        "member_id": xingyi["member_id"],
        "cadre_id": xingyi["cadre_id"],
        "import_id": xingyi["import_id"],
        "code": XINGYI,
        "village_code": VILLAGE_A,
        "year": "2024",
    }
    lists = [(p, op) for p, op in get_operations(registry.app) if is_list(registry.app, op)]
    assert len(lists) >= 6, [p for p, _ in lists]
    answered: set[str] = set()
    for path, operation in lists:
        for query_values in ({"region": PROVINCE, "parent": PROVINCE}, {"parent": PUAN}):
            url, query = fill(path, operation, path_values, query_values)
            response = await officer.get(url, params=query)
            assert response.status_code < 500, (url, query, response.text)
            if response.status_code == 200 and "region" not in query:
                answered.add(path)
            body = response.content.decode("utf-8", errors="replace")
            for sent in path_values.values():
                body = body.replace(sent, "")  # "household <the id you sent> not found"
            for trace in xingyi_traces(xingyi):
                assert trace not in body, f"{url} {query} shows {trace}: {body[:300]}"
    # The county's own lists answer, or the walk would prove nothing.
    assert {"/v1/households", "/v1/audit", "/v1/changes", "/v1/exports/households"} <= answered
    assert puan["household_no"] in (await officer.get("/v1/households")).text


async def test_the_household_list_still_shows_ones_own_county(registry, two_counties) -> None:
    xingyi, puan = two_counties
    officer = registry.as_(Role.county_officer, PUAN)
    mine = await officer.get("/v1/households")
    assert [h["household_no"] for h in mine.json()["items"]] == [puan["household_no"]]
    wide = await officer.get("/v1/households", params={"region": PROVINCE})
    assert wide.status_code == 404
    assert xingyi["household_no"] not in wide.text
    searched = await officer.post("/v1/households/search", json={"region": PROVINCE})
    assert searched.status_code == 404
    own = await officer.post("/v1/households/search", json={"q": xingyi["id_number"]})
    assert own.json()["items"] == []


def test_region_parameters_carry_the_pattern_and_integers_are_bounded(registry) -> None:
    wrong = {
        path: problems
        for path, operation in get_operations(registry.app)
        if (problems := unbounded_parameters(operation))
    }
    assert wrong == {}

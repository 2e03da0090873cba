"""Outside the caller's region every answer reads as if the record did not exist, and a value
held outside it (an ID number, a household number, a partner's id) is a conflict that names
nothing; departments, who never see names, cannot find people by them either."""

from datetime import date
from uuid import uuid4

import pytest

from shared import idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI
from tests.registry.helpers import household, member
from tests.registry.test_imports import csv_bytes, reasons, run
from tests.registry.test_imports import member as ledger_row
from tests.registry.walk import fill, get_operations, seed

INCOME = {"wage": "1.00", "operating": "0", "property": "0", "transfer": "0"}
MISSING_REGION = "522301999999"  # a village code nobody registered


@pytest.fixture
async def xingyi(registry, job_ctx, villages) -> dict[str, str]:
    return await seed(
        registry,
        job_ctx,
        county=XINGYI,
        village=VILLAGE_A,
        area="522301",
        household_no="XY-7",
        born=date(1975, 4, 3),
        sequence=211,
    )


def _same_answer(held, missing, held_values: dict[str, str], missing_values: dict[str, str]):
    """The two answers with the ids the caller sent taken out: they must be identical."""
    held_text, missing_text = held.text, missing.text
    for name, value in held_values.items():
        held_text = held_text.replace(value, "{" + name + "}")
    for name, value in missing_values.items():
        missing_text = missing_text.replace(value, "{" + name + "}")
    return (held.status_code, held_text) == (missing.status_code, missing_text)


async def test_another_countys_records_read_exactly_as_missing_ones_on_every_route(
    registry, xingyi
) -> None:
    officer = registry.as_(Role.county_officer, PUAN)
    held = {
        "household_id": xingyi["household_id"],
        "member_id": xingyi["member_id"],
        "cadre_id": xingyi["cadre_id"],
        "import_id": xingyi["import_id"],
        "code": XINGYI,
        "village_code": VILLAGE_A,
        "year": "2024",
    }
    missing = {
        "household_id": str(uuid4()),
        "member_id": str(uuid4()),
        "cadre_id": str(uuid4()),
        "import_id": str(uuid4()),
        "code": MISSING_REGION,
        "village_code": "522301999998",  # another village nobody registered
        "year": "2024",
    }
    compared = 0
    for path, operation in get_operations(registry.app):
        if "{" not in path:
            continue
        held_url, query = fill(path, operation, held, {"parent": XINGYI})
        missing_url, missing_query = fill(path, operation, missing, {"parent": MISSING_REGION})
        a = await officer.get(held_url, params=query)
        b = await officer.get(missing_url, params=missing_query)
        assert a.status_code in (403, 404), (held_url, a.text)  # 403: the role, never the record
        assert _same_answer(a, b, held, missing), (held_url, a.text, b.text)
        compared += 1
    assert compared >= 7
    version = {"If-Match": "1"}
    writes = [
        ("PATCH", "/v1/households/{household_id}", {"address": "x"}, version),
        ("PATCH", "/v1/members/{member_id}", {"education": "小学"}, version),
        ("DELETE", "/v1/members/{member_id}?reason=moved&departed_on=2025-01-01", None, {}),
        ("POST", "/v1/households/{household_id}/members", member("child"), {}),
        (
            "PUT",
            "/v1/households/{household_id}/guarantees",
            {"drinking_water": {"ok": True, "checked_on": "2025-01-01"}},
            {},
        ),
        ("POST", "/v1/cadres/{cadre_id}/households", {"household_ids": [str(uuid4())]}, {}),
        ("PUT", "/v1/households/{household_id}/economics/2024", INCOME, {}),
        (
            "POST",
            "/v1/households/{household_id}/measures",
            {"kind": "employment", "start": "2025-01-01"},
            {},
        ),
    ]
    for method, template, body, headers in writes:
        urls = [template.format(**values) for values in (held, missing)]
        a = await officer.request(method, urls[0], json=body, headers=headers)
        b = await officer.request(method, urls[1], json=body, headers=headers)
        assert a.status_code == 404, (method, urls[0], a.text)
        assert _same_answer(a, b, held, missing), (method, template, a.text, b.text)


async def test_values_held_outside_your_region_are_a_conflict_that_names_nothing(
    registry, job_ctx, xingyi
) -> None:
    cadre = registry.as_(Role.village_cadre, PUAN_VILLAGE)
    cases = [
        (
            household(PUAN_VILLAGE, "PA-1", members=[member(id_number=xingyi["id_number"])]),
            "the ID number is already taken",
        ),
        (household(PUAN_VILLAGE, xingyi["household_no"]), "the household number is already taken"),
        (
            household(PUAN_VILLAGE, "PA-2", external_ids={"civil_affairs": "CA-XY-7"}),
            "the civil_affairs id is already taken",
        ),
    ]
    for body, detail in cases:
        response = await cadre.post("/v1/households", json=body)
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["detail"] == detail
        assert "household_id" not in problem
        assert "household_no" not in problem
        for trace in ("region", xingyi["household_no"], xingyi["household_id"], "522301"):
            assert trace not in problem["detail"]
    # The same rule in a ledger import: nothing says where, or that it is another region.
    puan_number = idnumber.make("522323", date(1990, 1, 1), 11)
    rows = [
        ledger_row("PA-9", xingyi["id_number"], region=PUAN_VILLAGE),
        ledger_row(xingyi["household_no"], puan_number, region=PUAN_VILLAGE),
    ]
    result = await run(registry, job_ctx, csv_bytes(rows), region=PUAN)
    why = reasons(result)
    assert why[(2, "证件号码")] == "the ID number is already taken"
    assert why[(3, "户编号")] == "the household number is already taken"
    assert not any("region" in r for r in why.values())


async def test_a_duplicate_you_may_see_still_names_its_household(registry, xingyi) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    response = await cadre.post(
        "/v1/households",
        json=household(VILLAGE_A, "XY-8", members=[member(id_number=xingyi["id_number"])]),
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["household_no"] == xingyi["household_no"]
    assert xingyi["id_number"] not in problem["detail"]  # masked even here
    clash = await cadre.post("/v1/households", json=household(VILLAGE_A, xingyi["household_no"]))
    assert clash.status_code == 409
    assert clash.json()["household_id"] == xingyi["household_id"]


async def test_departments_cannot_search_households_by_name(registry, xingyi) -> None:
    department = registry.as_(Role.department, XINGYI)
    for refused in (
        await department.get("/v1/households", params={"q": "杨秀英"}),
        await department.get("/v1/households", params={"q": "Yang"}),
        await department.post("/v1/households/search", json={"q": "杨"}),
    ):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "not by name" in refused.json()["detail"]
    by_number = await department.get("/v1/households", params={"q": xingyi["household_no"]})
    assert [h["id"] for h in by_number.json()["items"]] == [xingyi["household_id"]]
    by_id = await department.post("/v1/households/search", json={"q": xingyi["id_number"]})
    assert [h["id"] for h in by_id.json()["items"]] == [xingyi["household_id"]]
    # Others still search by name.
    officer = registry.as_(Role.township_officer, "522301100000")
    named = await officer.get("/v1/households", params={"q": "杨秀英"})
    assert [h["id"] for h in named.json()["items"]] == [xingyi["household_id"]]

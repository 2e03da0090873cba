"""Every monitoring response that carries a person shows roles below the county masked ID
numbers (first 4 and last character) and no birth date, found from the OpenAPI document: a
new person-carrying route fails here until the walk knows how to call it."""

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from services.monitoring.alerts import jobs as scan_jobs
from shared import clock, idnumber
from shared.auth import Role
from tests.conftest import VILLAGE_A, XINGYI, XINGYI_TOWNSHIP

PERSON_FIELDS = {"id_number", "birth_date", "name", "phone"}
# The person-carrying GET routes and the query each is read with.
CALLS: dict[str, dict[str, str]] = {
    "/v1/signals": {},
    "/v1/declarations": {},
    "/v1/signals/{signal_id}": {},
    "/v1/alerts/{alert_id}/signals": {},
}
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
ACT = "/v1/declarations/{declaration_id}/actions"
MASKED = re.compile(r"^[0-9]{4}\*{13}[0-9X]$")


# Schemas whose ``name`` names a thing, not a person: a risk score's indicators.
NOT_PEOPLE = {"IndicatorScore", "IndicatorWeight"}


def _fields(spec: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name a response schema can carry, through refs, arrays and unions."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen or name.split("-")[0] in NOT_PEOPLE:
            return set()
        return _fields(spec, spec["components"]["schemas"][name], seen | {name})
    names = set(schema.get("properties", {}))
    for sub in schema.get("properties", {}).values():
        names |= _fields(spec, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            names |= _fields(spec, schema[key], seen)
    for sub in schema.get("anyOf", []) + schema.get("allOf", []):
        names |= _fields(spec, sub, seen)
    return names


def person_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status in ("200", "201"):
                content = operation.get("responses", {}).get(status, {}).get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if _fields(spec, schema, set()) & PERSON_FIELDS:
                    found.add((method, path))
    return found


def _full_width(number: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in number)


def _id_numbers(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "id_number" and v] + [
            n for v in value.values() for n in _id_numbers(v)
        ]
    if isinstance(value, list):
        return [n for v in value for n in _id_numbers(v)]
    return []


async def test_roles_below_the_county_see_masked_numbers_and_no_birth_date(
    monitoring, feed, villages, session, job_ctx
) -> None:
    spec = (await monitoring.get("/openapi.json")).json()
    routes = person_routes(spec)
    # Every route answering a person is called below; a new one must be added here.
    unknown = {(m, p) for m, p in routes if m != "get" or p not in CALLS}
    assert unknown <= {("post", ACT)}, unknown
    assert {("get", p) for p in CALLS} <= routes

    household = await feed.household(VILLAGE_A)
    births = {idnumber.parse(n).birth_date.isoformat() for n in household["id_numbers"]}
    recent = (clock.today() - timedelta(days=5)).isoformat()
    signal = {"source": "civil_affairs", "kind": "death_of_worker", "occurred_on": recent}
    sent = await monitoring.as_(Role.department, XINGYI).post(
        "/v1/signals",
        json={
            "items": [
                {**signal, "external_ref": f"m-{i}", "id_number": number}
                for i, number in enumerate(household["id_numbers"])
            ]
        },
    )
    assert sent.status_code == 200, sent.text
    declared = await monitoring.post(
        "/v1/declarations",
        json={
            "name": "张三",
            "id_number": household["id_numbers"][0],
            "phone": "13800008888",
            "village_code": VILLAGE_A,
            "reason": "illness",
            "description": f"我的身份证号：{household['id_numbers'][0]}，"
            f"妻子：{_full_width(household['id_numbers'][1])}。",
        },
    )
    assert declared.status_code == 201, declared.text
    # The signals queued a scan of the county: its alert lists them.
    scan_id = (
        await session.execute(
            text("SELECT id FROM monitoring.scans WHERE requested_by = 'monitoring-signals'")
        )
    ).scalar_one()
    await scan_jobs.scan_county(job_ctx, str(scan_id), XINGYI)
    alerts = await monitoring.as_(Role.county_officer, XINGYI).get(
        "/v1/alerts", params={"rule": "department_signal"}
    )
    ids = {"signal_id": sent.json()["items"][0]["id"], "alert_id": alerts.json()["items"][0]["id"]}

    masked_roles = [
        (Role.village_cadre, VILLAGE_A),
        (Role.township_officer, XINGYI_TOWNSHIP),
        (Role.auditor, XINGYI),
    ]
    for template, query in CALLS.items():
        path = template.format(**ids)
        for role, region in masked_roles:
            response = await monitoring.as_(role, region).get(path, params=query)
            assert response.status_code == 200, (path, role, response.text)
            body = response.json()
            numbers = _id_numbers(body)
            assert numbers, f"{path}: nothing seeded for {role.value} to see"
            assert all(MASKED.match(n) for n in numbers), (path, role, numbers)
            assert not FULL_ID.search(response.text), (path, role)
            assert "birth_date" not in response.text, (path, role)
            assert not [b for b in births if b in response.text], (path, role)
        # A county officer sees the full numbers.
        county = await monitoring.as_(Role.county_officer, XINGYI).get(path, params=query)
        assert set(_id_numbers(county.json())) <= set(household["id_numbers"])

    # The review action answers the declaration as the list does.
    cadre = monitoring.as_(Role.village_cadre, VILLAGE_A)
    (declaration,) = (await cadre.get("/v1/declarations")).json()["items"]
    reviewed = await cadre.post(
        ACT.format(declaration_id=declaration["id"]), json={"action": "review"}
    )
    assert reviewed.status_code == 200, reviewed.text
    assert MASKED.match(reviewed.json()["id_number"])
    assert not FULL_ID.search(reviewed.text)
    assert reviewed.json()["description"] == (
        f"我的身份证号：{idnumber.mask(household['id_numbers'][0])}，"
        f"妻子：{idnumber.mask(household['id_numbers'][1])}。"
    )
    # Accepted into a case, the declarant's words reach the case timeline masked.
    accepted = await cadre.post(
        ACT.format(declaration_id=declaration["id"]), json={"action": "accept"}
    )
    assert accepted.status_code == 200, accepted.text
    case = await cadre.get(f"/v1/cases/{accepted.json()['case_id']}")
    assert idnumber.mask(household["id_numbers"][0]) in case.text
    assert not FULL_ID.search(case.text)

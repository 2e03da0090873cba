"""Every list of monitoring, found from its OpenAPI document, is scoped by the caller's region:
a Puan county officer asking for the whole province, or for nothing in particular, sees nothing
of Xingyi. A new list route the walk cannot call fails here until it is taught how."""

from datetime import date, timedelta
from typing import Any

from services.monitoring.alerts import jobs as scan_jobs
from shared import clock, idnumber
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI

PROVINCE = "520000000000"
# How the walk fills a parameter a list route requires.
FILL = {"year": "2021"}
# Lists that must show Xingyi's own officer what was seeded (the walk is not vacuous).
SEEDED = {"/v1/alerts", "/v1/cases", "/v1/signals", "/v1/declarations", "/v1/policies"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for variant in schema.get("anyOf", []):
        if variant.get("type") != "null":
            return _resolve(spec, variant)
    return schema


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def list_routes(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """GET routes answering a list or a page (or taking a ``region`` filter), except those
    reading one record by its id."""
    found = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        params = operation.get("parameters", [])
        content = operation["responses"].get("200", {}).get("content", {})
        schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
        is_list = schema.get("type") == "array" or any(
            _resolve(spec, p).get("type") == "array" for p in schema.get("properties", {}).values()
        )
        one_record = any(
            p["in"] == "path" and (p["name"] == "id" or p["name"].endswith(("_id", "code")))
            for p in params
        )
        filtered = any(p["name"] == "region" and p["in"] == "query" for p in params)
        if filtered or (is_list and not one_record):
            found.append((path, params))
    return found


async def _seed(monitoring: Any, feed: Any, job_ctx: dict[str, Any]) -> set[str]:
    """Something of every kind in Xingyi (and in Puan); returns what identifies Xingyi's."""
    xingyi_household = await feed.household(VILLAGE_A, income={2021: "1000.00"})
    await feed.household(PUAN_VILLAGE, income={2021: "1000.00"})
    xingyi = monitoring.as_(Role.county_officer, XINGYI)
    puan = monitoring.as_(Role.county_officer, PUAN)
    marks = {str(xingyi_household["id"]), *xingyi_household["id_numbers"]}
    for officer, region in ((xingyi, XINGYI), (puan, PUAN)):
        scan = await officer.post("/v1/scans", json={"region_code": region, "year": 2021})
        assert scan.status_code == 202, scan.text
        await scan_jobs.scan_county(job_ctx, scan.json()["scan_id"], region)
        if officer is xingyi:
            marks.add(scan.json()["scan_id"])
    case = await xingyi.post(
        "/v1/cases", json={"household_id": str(xingyi_household["id"]), "channel": "cadre"}
    )
    assert case.status_code == 201, case.text
    marks.add(case.json()["id"])
    recent = (clock.today() - timedelta(days=5)).isoformat()
    stranger = idnumber.make("522301", date(1990, 2, 2), 77)
    signals = await monitoring.as_(Role.department, XINGYI).post(
        "/v1/signals",
        json={
            "items": [
                {
                    "source": "civil_affairs",
                    "kind": "death_of_worker",
                    "occurred_on": recent,
                    "external_ref": ref,
                    "id_number": number,
                }
                for ref, number in (("x-1", xingyi_household["id_numbers"][0]), ("x-2", stranger))
            ]
        },
    )
    assert signals.status_code == 200, signals.text
    marks |= {s["id"] for s in signals.json()["items"]} | {stranger}
    declared = await monitoring.post(
        "/v1/declarations",
        json={
            "name": "张三",
            "id_number": idnumber.make("522301", date(1975, 5, 5), 33),
            "phone": "13800007777",
            "village_code": VILLAGE_A,
            "reason": "illness",
        },
    )
    assert declared.status_code == 201, declared.text
    pending = await xingyi.put(f"/v1/policy/2021?region={XINGYI}", json={"monitoring_line": "10"})
    assert pending.status_code == 202, pending.text
    marks.add(pending.json()["id"])
    for item in (await xingyi.get("/v1/alerts")).json()["items"]:
        marks.add(item["id"])
    for item in (await xingyi.get("/v1/declarations")).json()["items"]:
        marks.add(item["id"])
    return marks


def _leaks(body: str, marks: set[str]) -> list[str]:
    # A Xingyi region code opens a JSON string (or a name: 522301 is Xingyi's prefix).
    found = [m for m in marks if m in body]
    if '"522301' in body:
        found.append("a Xingyi region code")
    return found


async def test_no_list_shows_another_county(monitoring, feed, job_ctx) -> None:
    spec = (await monitoring.get("/openapi.json")).json()
    routes = list_routes(spec)
    assert {path for path, _ in routes} >= SEEDED, "the walk no longer finds the known lists"
    marks = await _seed(monitoring, feed, job_ctx)
    xingyi = monitoring.as_(Role.county_officer, XINGYI)
    puan = monitoring.as_(Role.county_officer, PUAN)
    for path, params in routes:
        url = path
        query: dict[str, str] = {}
        for param in params:
            name = param["name"]
            if param["in"] == "path":
                assert name in FILL, f"cannot call GET {path}: teach FILL its {name}"
                url = url.replace("{" + name + "}", FILL[name])
            elif param.get("required"):
                assert name in FILL, f"cannot call GET {path}: teach FILL its {name}"
                query[name] = FILL[name]
        takes_region = any(p["name"] == "region" for p in params)
        for extra in ({"region": PROVINCE}, {}) if takes_region else ({},):
            response = await puan.get(url, params={**query, **extra})
            assert response.status_code in (200, 404), (path, extra, response.text)
            assert not _leaks(response.text, marks), (path, extra, _leaks(response.text, marks))
        if path in SEEDED:
            own = await xingyi.get(url, params=query)
            assert own.status_code == 200, (path, own.text)
            assert own.json()["items"], f"{path}: nothing seeded for Xingyi to see"
            assert _leaks(own.text, marks), path


async def test_region_and_number_parameters_are_bounded_in_the_schema(monitoring) -> None:
    spec = (await monitoring.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                where = f"{method.upper()} {path} {param['name']}"
                for schema in _variants(param.get("schema", {})):
                    if param["name"] == "region":
                        assert schema.get("pattern") == "^[0-9]{12}$", where
                    if schema.get("type") == "integer":
                        assert "minimum" in schema, where
                        assert "maximum" in schema, where

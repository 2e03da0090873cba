"""No list shows another county's records: every GET route of the funds OpenAPI document that
answers a list (a page, an array, a report or trace carrying lists, a CSV export) is walked as
Puan's county officer, with the province's code as ``region`` and without one, over data
seeded in Xingyi. Each answer is a 404 or names nothing of Xingyi.

The routes come from ``app.openapi()``, so a new list route is walked as soon as it exists;
one whose parameters the walker cannot fill fails here until it is taught them."""

from typing import Any
from uuid import uuid4

from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    VILLAGE_A,
    XINGYI,
    completed_project,
    county,
    county_fund,
    days_ago,
    make_asset,
    make_fund,
    post_notice,
)

YEAR = 2026


def _resolve(spec: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    while schema and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema or {}


def _is_list(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether a GET answers records in bulk: an array, an object with an array in it (a
    page, a report's children, a trace), or a file export."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    if any(kind.startswith("text/csv") for kind in content):
        return True
    schema = _resolve(spec, content.get("application/json", {}).get("schema"))
    if schema.get("type") == "array":
        return True
    properties = schema.get("properties", {})
    return any(
        _resolve(spec, p).get("type") == "array" or "items" in p for p in properties.values()
    )


def list_routes(app: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    spec = app.openapi()
    return [
        (path, item["get"].get("parameters", []))
        for path, item in sorted(spec["paths"].items())
        if "get" in item and _is_list(spec, item["get"])
    ]


async def _seed_xingyi(funds: Any, registry_stub: Any) -> dict[str, Any]:
    """A Xingyi fund, allocation, project with a beneficiary, payments, notice, asset with
    income: everything a list might leak."""
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds, amount="100000.00")
    own_fund = await make_fund(county(funds), amount="5000.00")
    project = await completed_project(funds, fund["id"], budget="1000.00", households=[household])
    officer = county(funds)
    payment = await officer.post(
        f"/v1/projects/{project['id']}/payments",
        json={
            "amount": "300.00",
            "payee": "一卡通",
            "voucher_no": "X-1",
            "paid_on": days_ago(0),
            "household_id": str(household),
        },
    )
    assert payment.status_code == 201, payment.text
    notice = await post_notice(funds, project["id"], purpose="results", start=0, end=-20)
    assert notice.status_code == 201, notice.text
    asset = await make_asset(funds, project["id"])
    income = await officer.post(
        f"/v1/assets/{asset['id']}/income", json={"period": "2025", "amount": "10.00"}
    )
    assert income.status_code == 201, income.text
    shares = [{"recipient_type": "village_works", "label": "村道维修", "amount": "10.00"}]
    distribution = await officer.post(
        f"/v1/assets/{asset['id']}/distributions",
        json={"income_id": income.json()["id"], "shares": shares},
    )
    assert distribution.status_code == 201, distribution.text
    return {
        "params": {
            "fund_id": [fund["id"], own_fund["id"]],
            "project_id": [project["id"]],
            "asset_id": [asset["id"]],
            "distribution_id": [distribution.json()["id"]],
            "household_id": [str(household)],
            "webhook_id": [str(uuid4())],  # subscriptions are their owner's alone: 404 here
        },
        "queries": {"year": YEAR},
        # What must never reach Puan: Xingyi's codes and the ids of its own records.
        "secrets": [
            XINGYI[:6],
            own_fund["id"],
            project["id"],
            payment.json()["id"],
            notice.json()["id"],
            asset["id"],
            distribution.json()["id"],
            str(household),
        ],
    }


async def test_no_list_route_shows_another_county(funds, registry_stub) -> None:
    seed = await _seed_xingyi(funds, registry_stub)
    puan, xingyi = county(funds, PUAN), county(funds, XINGYI)
    walked: list[str] = []
    for path, parameters in list_routes(funds.app):
        names = {p["name"] for p in parameters if p["in"] == "path"}
        unknown = names - seed["params"].keys()
        assert not unknown, f"{path}: teach the walker its path parameters {sorted(unknown)}"
        required = {
            p["name"] for p in parameters if p["in"] == "query" and p.get("required", False)
        }
        missing = required - seed["queries"].keys()
        assert not missing, f"{path}: teach the walker its required query {sorted(missing)}"
        takes_region = any(p["name"] == "region" and p["in"] == "query" for p in parameters)
        regions: list[dict[str, str]] = [{}] + ([{"region": GUIZHOU}] if takes_region else [])
        fills: list[dict[str, str]] = [{}]
        for name in sorted(names):
            fills = [f | {name: value} for f in fills for value in seed["params"][name]]
        for fill in fills:
            url = path.format(**fill)
            for region in regions:
                params = {k: seed["queries"][k] for k in required} | region
                response = await puan.get(url, params=params)
                walked.append(path)
                assert response.status_code in (200, 404), (url, params, response.text)
                if response.status_code == 200:
                    leaked = [s for s in seed["secrets"] if s in response.text]
                    assert not leaked, f"{url} {params} shows Xingyi's {leaked}"
    assert {"/v1/projects", "/v1/assets", "/v1/allocations", "/v1/notices"} <= set(walked)
    assert "/v1/projects/{project_id}/payments" in walked
    # The seed is really there: Xingyi's own officer sees it in the same lists.
    for path in ("/v1/projects", "/v1/assets", "/v1/allocations", "/v1/notices"):
        assert XINGYI[:6] in (await xingyi.get(path)).text, path


async def test_a_village_cadre_lists_only_their_village_and_what_is_above_it(
    funds, registry_stub
) -> None:
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    here = await make_asset(funds, project["id"])
    county_wide = await make_asset(
        funds, project["id"], owner_type="other", owner_id="兴义市", kind="public_welfare"
    )
    other_village = await make_asset(funds, project["id"], owner_id="522301100002")
    cadre = funds.as_(Role.village_cadre, VILLAGE_A)
    listed = {a["id"] for a in (await cadre.get("/v1/assets")).json()["items"]}
    assert listed == {here["id"], county_wide["id"]}
    assert other_village["id"] not in listed
    # Projects sit at county level: the cadre lists their county's.
    assert [p["id"] for p in (await cadre.get("/v1/projects")).json()["items"]] == [project["id"]]


async def test_region_and_year_parameters_are_checked_before_the_database(funds) -> None:
    fund = await county_fund(funds)
    officer = county(funds)
    zero = await officer.post(
        "/v1/projects",
        json={
            "name": "x",
            "county_code": "000000000000",
            "kind": "industry",
            "budget": "1.00",
            "fund_ids": [fund["id"]],
        },
    )
    assert zero.status_code == 422, zero.text
    assert zero.json()["errors"][0]["field"] == "county_code"
    huge = await officer.get("/v1/allocations", params={"year": 8589934592})
    assert huge.status_code == 422
    for path in ("/v1/projects", "/v1/assets", "/v1/compliance", "/v1/exports/assets"):
        bad = await officer.get(path, params={"region": "52230１000000"})
        assert bad.status_code == 422, (path, bad.text)
    assert (await officer.get("/v1/policy/99999")).status_code == 422
    scan = await funds.as_(Role.province_admin, GUIZHOU).post(
        "/v1/compliance/scans", json={"region_code": "000000000000"}
    )
    assert scan.status_code == 422

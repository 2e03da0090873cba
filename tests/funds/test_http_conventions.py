"""HTTP conventions of the funds service: every 201 says where the new resource lives;
single resources carry a weak ETag from their version and answer 304 when unchanged."""

from tests.funds.conftest import (
    QIANXINAN,
    VILLAGE_A,
    allocate,
    approved_project,
    completed_project,
    county,
    county_fund,
    days_ago,
    make_project,
    post_notice,
    province,
)
from tests.http_conventions import (
    assert_created_at,
    assert_etag_and_304,
    routes_answering,
    versioned_get_paths,
)

# Every route answering 201, with its Location. A new 201 route fails the first test until
# it is listed here (and tested below).
LOCATIONS = {
    ("POST", "/v1/funds"): "/v1/funds/{id}",
    ("POST", "/v1/allocations"): "/v1/allocations/{id}",
    ("POST", "/v1/projects"): "/v1/projects/{id}",
    ("POST", "/v1/projects/{project_id}/payments"): "/v1/projects/{project_id}/payments/{id}",
    ("POST", "/v1/notices"): "/v1/notices/{id}",
    ("POST", "/v1/assets"): "/v1/assets/{id}",
    ("POST", "/v1/assets/{asset_id}/income"): "/v1/assets/{asset_id}/income/{id}",
    ("POST", "/v1/assets/{asset_id}/distributions"): "/v1/assets/{asset_id}/distributions/{id}",
}

# Subscribing answers 201 with Location /v1/webhooks/{id}: tested with the webhooks
# (tests/registry/test_webhooks.py), where a receiver and a client token are at hand.
WEBHOOK_SUBSCRIBE = {("POST", "/v1/webhooks")}


async def test_every_201_route_is_listed(funds) -> None:
    assert routes_answering(funds.app, "201") == set(LOCATIONS) | WEBHOOK_SUBSCRIBE


async def test_every_201_names_the_created_resource(funds, registry_stub) -> None:
    admin, officer = province(funds), county(funds)
    fund = await admin.post(
        "/v1/funds",
        json={
            "source": "central",
            "fiscal_year": 2026,
            "amount": "5000.00",
            "document_no": "黔财农〔2026〕LOC号",
        },
    )
    await assert_created_at(admin, fund, LOCATIONS[("POST", "/v1/funds")])
    allocation = await allocate(admin, fund.json()["id"], QIANXINAN, "10.00")
    await assert_created_at(admin, allocation, LOCATIONS[("POST", "/v1/allocations")])

    funded = await county_fund(funds)
    project = await make_project(funds, [funded["id"]])
    await assert_created_at(officer, project, LOCATIONS[("POST", "/v1/projects")])
    notice = await post_notice(funds, project.json()["id"], start=0, end=-15)
    await assert_created_at(officer, notice, LOCATIONS[("POST", "/v1/notices")])

    approved = await approved_project(funds, funded["id"])
    payment = await officer.post(
        f"/v1/projects/{approved['id']}/payments",
        json={"amount": "10.00", "payee": "兴义建工", "voucher_no": "V-L", "paid_on": days_ago(0)},
    )
    await assert_created_at(
        officer, payment, LOCATIONS[("POST", "/v1/projects/{project_id}/payments")]
    )

    done = await completed_project(funds, funded["id"])
    asset_body = {
        "project_id": done["id"],
        "kind": "operating",
        "name": "光伏电站",
        "value": "800.00",
        "owner_type": "village_collective",
        "owner_id": VILLAGE_A,
        "custodian": "丰都村股份经济合作社",
    }
    asset = await officer.post("/v1/assets", json=asset_body)
    await assert_created_at(officer, asset, LOCATIONS[("POST", "/v1/assets")])
    income = await officer.post(
        f"/v1/assets/{asset.json()['id']}/income", json={"period": "2026", "amount": "100.00"}
    )
    await assert_created_at(officer, income, LOCATIONS[("POST", "/v1/assets/{asset_id}/income")])
    shares = [{"recipient_type": "village_works", "label": "村道维修", "amount": "100.00"}]
    distribution = await officer.post(
        f"/v1/assets/{asset.json()['id']}/distributions",
        json={"income_id": income.json()["id"], "shares": shares},
    )
    await assert_created_at(
        officer, distribution, LOCATIONS[("POST", "/v1/assets/{asset_id}/distributions")]
    )


async def test_single_resources_answer_an_etag_and_304_when_unchanged(funds, registry_stub) -> None:
    officer = county(funds)
    funded = await county_fund(funds)
    project = await make_project(funds, [funded["id"]])
    assert project.headers["ETag"] == f'W/"{project.json()["version"]}"'
    done = await completed_project(funds, funded["id"])
    asset_body = {
        "project_id": done["id"],
        "kind": "operating",
        "name": "光伏电站",
        "value": "800.00",
        "owner_type": "village_collective",
        "owner_id": VILLAGE_A,
        "custodian": "丰都村股份经济合作社",
    }
    asset = await officer.post("/v1/assets", json=asset_body)
    assets = f"/v1/assets/{asset.json()['id']}"
    income = await officer.post(f"{assets}/income", json={"period": "2026", "amount": "1.00"})
    shares = [{"recipient_type": "village_works", "label": "村道维修", "amount": "1.00"}]
    distribution = await officer.post(
        f"{assets}/distributions", json={"income_id": income.json()["id"], "shares": shares}
    )
    urls = {
        "/v1/assets/{asset_id}/distributions/{distribution_id}": (
            officer,
            distribution.headers["Location"],
        ),
        "/v1/funds/{fund_id}": (province(funds), f"/v1/funds/{funded['id']}"),
        "/v1/projects/{project_id}": (officer, project.headers["Location"]),
        "/v1/assets/{asset_id}": (officer, asset.headers["Location"]),
    }
    # Walked from the OpenAPI document: a new single-resource GET must be added here.
    assert versioned_get_paths(funds.app) == set(urls)
    for client, url in urls.values():
        await assert_etag_and_304(client, url)

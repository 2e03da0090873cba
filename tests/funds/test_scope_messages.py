"""Outside the caller's region every answer reads as if the record did not exist: the same
404 body as a truly missing id, so an answer never confirms another county's record."""

from uuid import uuid4

from tests.funds.conftest import (
    PUAN,
    VILLAGE_A,
    completed_project,
    county,
    county_fund,
    make_asset,
    make_fund,
)


async def test_another_countys_records_answer_like_missing_ones(funds, registry_stub) -> None:
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    own_fund = await make_fund(county(funds), amount="10.00")
    project = await completed_project(funds, fund["id"], households=[household])
    asset = await make_asset(funds, project["id"])
    puan = county(funds, PUAN)
    pairs = {
        "/v1/projects/{}": project["id"],
        "/v1/projects/{}/payments": project["id"],
        "/v1/assets/{}": asset["id"],
        "/v1/assets/{}/income": asset["id"],
        "/v1/funds/{}": own_fund["id"],
        "/v1/funds/{}/allocations": own_fund["id"],
        "/v1/trace/funds/{}": own_fund["id"],
        "/v1/trace/households/{}": str(household),
    }
    for template, real in pairs.items():
        elsewhere = await puan.get(template.format(real))
        missing = await puan.get(template.format(uuid4()))
        assert elsewhere.status_code == missing.status_code == 404, template
        assert elsewhere.json() == missing.json(), template
    writes = {
        "/v1/projects/{}/actions": {"action": "cancel"},
        "/v1/projects/{}/payments": {
            "amount": "1.00",
            "payee": "x",
            "voucher_no": "P-1",
            "paid_on": "2026-01-01",
        },
    }
    for template, body in writes.items():
        elsewhere = await puan.post(template.format(project["id"]), json=body)
        missing = await puan.post(template.format(uuid4()), json=body)
        assert elsewhere.status_code == missing.status_code == 404, template
        assert elsewhere.json() == missing.json(), template
    disposal = {"action": "request", "method": "auction", "reason": "x"}
    elsewhere = await puan.post(f"/v1/assets/{asset['id']}/disposal", json=disposal)
    missing = await puan.post(f"/v1/assets/{uuid4()}/disposal", json=disposal)
    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.json() == missing.json()

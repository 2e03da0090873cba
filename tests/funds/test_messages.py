"""An official reads the funds service's refusals in Chinese (English on request), each with
a stable code a client branches on."""

from uuid import uuid4

from tests.funds.conftest import approved_project, county, county_fund, days_ago, second_county


async def test_a_payment_over_the_budget(funds) -> None:
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], budget="1000.00")
    officer = county(funds)
    del officer.headers["Accept-Language"]  # no preference: Chinese
    body = {"amount": "1000.01", "payee": "兴义建工", "voucher_no": "V-1", "paid_on": days_ago(0)}
    pay = f"/v1/projects/{project['id']}/payments"

    zh = await officer.post(pay, json=body)
    assert zh.status_code == 409
    assert zh.json()["code"] == "payment.over_budget"
    assert zh.json()["title"] == "冲突"
    assert zh.json()["detail"] == "支付金额 1000.01 超过项目预算余额 1000.00"
    assert zh.json()["remaining"] == "1000.00"

    en = await officer.post(pay, json=body, headers={"Accept-Language": "en"})
    assert en.json()["code"] == "payment.over_budget"
    assert en.json()["detail"] == "payment of 1000.01 exceeds the budget's remaining 1000.00"


async def test_a_missing_project(funds) -> None:
    officer = county(funds)
    del officer.headers["Accept-Language"]
    path = f"/v1/projects/{uuid4()}"

    zh = await officer.get(path)
    assert zh.status_code == 404
    assert zh.json()["code"] == "project.not_found"
    assert (zh.json()["title"], zh.json()["detail"]) == ("未找到", "未找到该项目")

    en = await officer.get(path, headers={"Accept-Language": "en"})
    assert (en.json()["title"], en.json()["detail"]) == ("Not found", "project not found")
    assert en.json()["code"] == "project.not_found"


async def test_duties_kept_apart_and_a_refused_field(funds) -> None:
    fund = await county_fund(funds)
    proposer = county(funds)
    created = await proposer.post(
        "/v1/projects",
        json={
            "name": "精品水果种植基地",
            "county_code": "522301000000",
            "kind": "industry",
            "budget": "1000.00",
            "fund_ids": [fund["id"]],
        },
    )
    assert created.status_code == 201, created.text
    del proposer.headers["Accept-Language"]
    own = await proposer.post(
        f"/v1/projects/{created.json()['id']}/actions", json={"action": "approve"}
    )
    assert own.status_code == 403, own.text
    assert own.json()["code"] == "project.approval_same_account"
    assert own.json()["detail"].startswith("项目申报人不得审批本项目")
    refused = await second_county(funds).post(
        f"/v1/projects/{created.json()['id']}/payments",
        json={"amount": "0", "payee": "x", "voucher_no": "V", "paid_on": days_ago(0)},
        headers={"Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("amount", "amount.not_positive")
    assert error["message"] == "金额必须大于零"

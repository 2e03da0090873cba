"""Duties kept apart (不相容职务分离, domain.md section 8): who proposes a project does not
approve it; a payment above the funds policy's threshold counts as paid only once a second
county account confirms it, never its recorder; who requests an asset disposal does not
approve it. The audit trail names both accounts of each such step."""

from typing import Any

from sqlalchemy import text

from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    VILLAGE_A,
    XINGYI,
    approved_project,
    completed_project,
    county,
    county_fund,
    days_ago,
    make_asset,
    make_project,
    post_notice,
    province,
    second_county,
    township,
)

FIRST, SECOND = f"county_officer@{XINGYI}", f"second.county_officer@{XINGYI}"


async def _audit(funds: Any, entity_id: str, action: str) -> dict[str, Any]:
    async with funds.app.state.session_maker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT actor, new FROM funds.change_log WHERE entity_id = :e AND action = :a"
                ),
                {"e": entity_id, "a": action},
            )
        ).one()
    return {"actor": row.actor, **row.new}


async def test_the_proposer_of_a_project_cannot_approve_it(funds) -> None:
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    await post_notice(funds, project["id"])
    path = f"/v1/projects/{project['id']}/actions"
    own = await county(funds).post(path, json={"action": "approve"})
    assert own.status_code == 403
    assert "proposed" in own.json()["detail"]
    approved = await second_county(funds).post(path, json={"action": "approve"})
    assert approved.status_code == 200, approved.text
    audit = await _audit(funds, project["id"], "approve")
    assert audit["actor"] == SECOND
    assert audit["proposed_by"] == FIRST


async def test_a_large_payment_counts_only_once_a_second_account_confirms_it(funds) -> None:
    fund = await county_fund(funds, amount="500000.00")
    project = await approved_project(funds, fund["id"], budget="200000.00")
    pay = f"/v1/projects/{project['id']}/payments"
    officer = county(funds)
    small = await officer.post(
        pay,
        json={"amount": "50000.00", "payee": "施工方", "voucher_no": "S", "paid_on": days_ago(0)},
    )
    assert small.json()["status"] == "paid"
    large = await officer.post(
        pay,
        json={"amount": "50000.01", "payee": "施工方", "voucher_no": "L", "paid_on": days_ago(0)},
    )
    assert large.status_code == 201
    assert large.json()["status"] == "awaiting_confirmation"
    read = (await officer.get(f"/v1/projects/{project['id']}")).json()
    assert read["paid"] == "50000.00"
    assert read["awaiting_confirmation"] == "50000.01"
    assert read["remaining"] == "99999.99"  # reserved meanwhile
    assert (await officer.get(f"/v1/funds/{fund['id']}")).json()["paid"] == "50000.00"
    over = await officer.post(
        pay, json={"amount": "100000.00", "payee": "x", "voucher_no": "O", "paid_on": days_ago(0)}
    )
    assert over.status_code == 409

    confirm = f"{pay}/{large.json()['id']}/confirm"
    assert (await officer.post(confirm)).status_code == 403  # the recorder
    department = (await funds.as_(Role.department, XINGYI).get(pay)).json()["items"]
    assert {(p["payee"], p["created_by"]) for p in department} == {(None, None)}
    assert (await township(funds).post(confirm)).status_code == 403
    assert (await county(funds, PUAN).post(confirm)).status_code == 404
    assert (
        await second_county(funds).post(f"{pay}/{small.json()['id']}/confirm")
    ).status_code == 409
    confirmed = await second_county(funds).post(confirm)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "paid"
    assert confirmed.json()["confirmed_by"] == SECOND
    assert (await province(funds).post(confirm)).status_code == 409  # once
    read = (await officer.get(f"/v1/projects/{project['id']}")).json()
    assert read["paid"] == "100000.01"
    assert read["awaiting_confirmation"] == "0.00"
    listed = {p["voucher_no"]: p for p in (await officer.get(pay)).json()["items"]}
    assert listed["L"]["confirmed_by"] == SECOND
    report = (await officer.get("/v1/reports/funds", params={"year": 2026})).json()
    assert report["paid"] == "100000.01"
    audit = await _audit(funds, large.json()["id"], "confirm")
    assert (audit["actor"], audit["recorded_by"], audit["confirmed_by"]) == (SECOND, FIRST, SECOND)


async def test_a_reversed_unconfirmed_payment_never_counts(funds) -> None:
    fund = await county_fund(funds, amount="500000.00")
    project = await approved_project(funds, fund["id"], budget="200000.00")
    pay = f"/v1/projects/{project['id']}/payments"
    officer = county(funds)
    large = await officer.post(
        pay,
        json={"amount": "80000.00", "payee": "施工方", "voucher_no": "L", "paid_on": days_ago(0)},
    )
    reversal = await officer.post(
        pay, json={"reverses": large.json()["id"], "voucher_no": "R", "paid_on": days_ago(0)}
    )
    assert reversal.json()["status"] == "awaiting_confirmation"
    read = (await officer.get(f"/v1/projects/{project['id']}")).json()
    assert (read["paid"], read["awaiting_confirmation"], read["remaining"]) == (
        "0.00",
        "0.00",
        "200000.00",
    )
    assert (
        await second_county(funds).post(f"{pay}/{large.json()['id']}/confirm")
    ).status_code == 409


async def test_the_threshold_is_policy_and_a_county_may_only_lower_it(funds) -> None:
    fields = {
        "notice_days": 10,
        "idle_days": 90,
        "stall_days": 180,
        "results_notice_days": 30,
        "asset_idle_days": 365,
        "undistributed_days": 90,
        "industry_share_min": 0.6,
    }
    officer = county(funds)
    assert (await officer.get("/v1/policy/2026")).json()["payment_confirmation_threshold"] == (
        "50000.00"
    )
    raised = await officer.put(
        "/v1/policy/2026", json=fields | {"payment_confirmation_threshold": "1000000.00"}
    )
    assert raised.status_code == 422
    assert raised.json()["errors"][0]["field"] == "payment_confirmation_threshold"
    inherited = await officer.put("/v1/policy/2026", json=fields)
    assert inherited.json()["payment_confirmation_threshold"] == "50000.00"
    lowered = await officer.put(
        "/v1/policy/2026", json=fields | {"payment_confirmation_threshold": "100.00"}
    )
    assert lowered.status_code == 200
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], budget="1000.00")
    paid = await officer.post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "100.01", "payee": "x", "voucher_no": "V", "paid_on": days_ago(0)},
    )
    assert paid.json()["status"] == "awaiting_confirmation"
    # The province lowers its own; a county omitting the figure takes the province's.
    assert (
        await province(funds).put(
            "/v1/policy/2026",
            json=fields | {"payment_confirmation_threshold": "30000.00"},
            params={"region": GUIZHOU},
        )
    ).status_code == 200
    again = await officer.put("/v1/policy/2026", json=fields)
    assert again.json()["payment_confirmation_threshold"] == "30000.00"
    assert (
        await province(funds).put(
            "/v1/policy/2026",
            json=fields | {"payment_confirmation_threshold": "80000.00"},
            params={"region": GUIZHOU},
        )
    ).status_code == 200


async def test_the_requester_of_a_disposal_cannot_approve_it(funds, registry_stub) -> None:
    registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    path = f"/v1/assets/{asset['id']}/disposal"
    requested = await county(funds).post(
        path, json={"action": "request", "method": "auction", "reason": "设备老化"}
    )
    assert requested.status_code == 200
    own = await county(funds).post(path, json={"action": "approve"})
    assert own.status_code == 403
    assert "requested" in own.json()["detail"]
    approved = await second_county(funds).post(path, json={"action": "approve"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["disposal_requested_by"] == FIRST
    assert approved.json()["disposal_approved_by"] == SECOND
    audit = await _audit(funds, asset["id"], "disposal_approve")
    assert (audit["actor"], audit["requested_by"]) == (SECOND, FIRST)


async def test_the_province_may_approve_a_countys_disposal(funds) -> None:
    fund = await county_fund(funds)
    project = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, project["id"])
    path = f"/v1/assets/{asset['id']}/disposal"
    await township(funds).post(
        path, json={"action": "request", "method": "scrapping", "reason": "损毁"}
    )
    approved = await funds.as_(Role.province_admin, GUIZHOU).post(path, json={"action": "approve"})
    assert approved.status_code == 200

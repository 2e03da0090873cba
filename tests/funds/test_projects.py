"""The project library: beneficiaries checked against the registry, the lifecycle with its
public notices, and payments that never pass the budget."""

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from shared import clock
from shared.auth import Role
from tests.funds.conftest import (
    PUAN,
    PUAN_VILLAGE,
    VILLAGE_A,
    XINGYI,
    approved_project,
    county,
    county_fund,
    days_ago,
    make_fund,
    make_project,
    post_notice,
    province,
    second_county,
    township,
)


async def test_project_names_the_households_missing_from_the_registry(funds, registry_stub) -> None:
    fund = await county_fund(funds)
    known = registry_stub.add_household(VILLAGE_A)
    elsewhere = registry_stub.add_household(PUAN_VILLAGE)
    from uuid import uuid4

    ghost = uuid4()
    response = await make_project(funds, [fund["id"]], households=[known, ghost, elsewhere])
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors == [
        {
            "field": "beneficiary_household_ids.1",
            "message": f"household {ghost} is not in the registry in county {XINGYI}",
            "code": "household.outside_county",
        },
        {
            "field": "beneficiary_household_ids.2",
            "message": f"household {elsewhere} is not in the registry in county {XINGYI}",
            "code": "household.outside_county",
        },
    ]
    ok = await make_project(funds, [fund["id"]], households=[known])
    assert ok.status_code == 201
    body = ok.json()
    assert body["status"] == "proposed"
    assert body["beneficiary_household_ids"] == [str(known)]
    assert body["budget"] == "1000.00"


async def test_project_in_another_county_is_not_found(funds) -> None:
    fund = await county_fund(funds)
    response = await county(funds, PUAN).post(
        "/v1/projects",
        json={
            "name": "x",
            "county_code": XINGYI,
            "kind": "industry",
            "budget": "1.00",
            "fund_ids": [fund["id"]],
        },
    )
    assert response.status_code == 404
    created = (await make_project(funds, [fund["id"]])).json()
    assert (await county(funds, PUAN).get(f"/v1/projects/{created['id']}")).status_code == 404


async def test_project_needs_a_fund_allocated_to_its_county(funds) -> None:
    unallocated = await make_fund(province(funds))
    response = await make_project(funds, [unallocated["id"]])
    assert response.status_code == 422
    assert "not allocated" in response.json()["errors"][0]["message"]


async def test_lifecycle_with_notices_and_roles(funds) -> None:
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    path = f"/v1/projects/{project['id']}/actions"
    officer, town = county(funds), township(funds)

    refused = await second_county(funds).post(path, json={"action": "approve"})
    assert refused.status_code == 409
    assert refused.json()["missing_notice"] == "plan"
    # A notice still running does not count; one shorter than 10 days is refused outright.
    assert (await post_notice(funds, project["id"], start=5, end=-5)).status_code == 201
    assert (await second_county(funds).post(path, json={"action": "approve"})).status_code == 409
    short = await post_notice(funds, project["id"], start=9, end=1)
    assert short.status_code == 422
    assert "at least 10 days" in short.json()["detail"]

    assert (await post_notice(funds, project["id"], start=11, end=2)).status_code == 201
    assert (await town.post(path, json={"action": "approve"})).status_code == 403
    approved = await second_county(funds).post(path, json={"action": "approve"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"

    wrong = await officer.post(path, json={"action": "accept"})
    assert wrong.status_code == 409
    assert set(wrong.json()["allowed_actions"]) == {"start", "cancel"}
    assert (await town.post(path, json={"action": "start"})).json()["status"] == "in_progress"
    assert (await town.post(path, json={"action": "complete"})).json()["status"] == "completed"
    # The plan notice does not serve for acceptance: the results need their own.
    no_results = await officer.post(path, json={"action": "accept"})
    assert no_results.status_code == 409
    assert no_results.json()["missing_notice"] == "results"


async def test_a_notice_starts_no_earlier_than_the_day_it_is_posted(funds) -> None:
    project = (await make_project(funds, [(await county_fund(funds))["id"]])).json()
    officer = county(funds)

    def notice(starts_on: str, ends_on: str) -> dict[str, str]:
        return {
            "subject_type": "project",
            "subject_id": project["id"],
            "purpose": "plan",
            "starts_on": starts_on,
            "ends_on": ends_on,
            "content": "项目公示：精品水果种植基地",
        }

    # Posted today, dated as if it had run the past month: refused, and no approval today.
    backdated = await officer.post("/v1/notices", json=notice(days_ago(30), days_ago(1)))
    assert backdated.status_code == 422
    assert backdated.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in backdated.json()["errors"]] == ["starts_on"]
    yesterday = await officer.post("/v1/notices", json=notice(days_ago(1), days_ago(-10)))
    assert yesterday.status_code == 422
    approve = await second_county(funds).post(
        f"/v1/projects/{project['id']}/actions", json={"action": "approve"}
    )
    assert approve.status_code == 409
    assert approve.json()["missing_notice"] == "plan"

    # Today or later is fine; the project waits until the notice has run its days.
    assert (
        await officer.post("/v1/notices", json=notice(days_ago(0), days_ago(-9)))
    ).status_code == 201
    assert (
        await officer.post("/v1/notices", json=notice(days_ago(-3), days_ago(-12)))
    ).status_code == 201
    approve = await second_county(funds).post(
        f"/v1/projects/{project['id']}/actions", json={"action": "approve"}
    )
    assert approve.status_code == 409


async def test_public_notices_need_no_login(funds) -> None:
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    await post_notice(funds, project["id"], start=3, end=-10)
    await post_notice(funds, project["id"], start=30, end=15)
    active = await funds.get("/v1/notices", params={"region": VILLAGE_A, "active": "true"})
    assert active.status_code == 200
    assert len(active.json()["items"]) == 1
    everything = await funds.get("/v1/notices", params={"region": VILLAGE_A})
    assert len(everything.json()["items"]) == 2
    assert (await funds.get("/v1/notices", params={"region": PUAN})).json()["items"] == []


async def test_list_projects_by_region_status_and_kind(funds) -> None:
    fund = await county_fund(funds)
    await make_project(funds, [fund["id"]], kind="industry")
    await make_project(funds, [fund["id"]], kind="housing")
    admin = province(funds)
    assert len((await admin.get("/v1/projects", params={"region": XINGYI})).json()["items"]) == 2
    housing = await admin.get("/v1/projects", params={"kind": "housing", "status": "proposed"})
    assert [p["kind"] for p in housing.json()["items"]] == ["housing"]
    cadre = funds.as_(Role.village_cadre, VILLAGE_A)
    assert len((await cadre.get("/v1/projects")).json()["items"]) == 2
    assert (await county(funds, PUAN).get("/v1/projects")).json()["items"] == []


async def test_payments_never_pass_the_budget_and_reversals_restore_it(
    funds, registry_stub
) -> None:
    household = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"], budget="100.00", households=[household])
    pay = f"/v1/projects/{project['id']}/payments"
    officer = county(funds)
    first = await officer.post(
        pay,
        json={
            "amount": "60.00",
            "payee": "一卡通",
            "voucher_no": "V1",
            "paid_on": days_ago(0),
            "household_id": str(household),
        },
    )
    assert first.status_code == 201
    assert first.json()["amount"] == "60.00"
    over = await officer.post(
        pay, json={"amount": "40.01", "payee": "施工方", "voucher_no": "V2", "paid_on": days_ago(0)}
    )
    assert over.status_code == 409
    assert over.json()["remaining"] == "40.00"
    assert over.headers["content-type"].startswith("application/problem+json")

    reversal = await officer.post(
        pay, json={"reverses": first.json()["id"], "voucher_no": "R1", "paid_on": days_ago(0)}
    )
    assert reversal.status_code == 201
    assert reversal.json()["amount"] == "-60.00"
    assert reversal.json()["household_id"] == str(household)
    again = await officer.post(
        pay, json={"reverses": first.json()["id"], "voucher_no": "R2", "paid_on": days_ago(0)}
    )
    assert again.status_code == 409
    of_reversal = await officer.post(
        pay, json={"reverses": reversal.json()["id"], "voucher_no": "R3", "paid_on": days_ago(0)}
    )
    assert of_reversal.status_code == 422

    assert (
        await officer.post(
            pay,
            json={
                "amount": "100.00",
                "payee": "施工方",
                "voucher_no": "V3",
                "paid_on": days_ago(0),
            },
        )
    ).status_code == 201
    read = (await officer.get(f"/v1/projects/{project['id']}")).json()
    assert read["paid"] == "100.00"
    assert read["remaining"] == "0.00"
    entries = (await officer.get(pay)).json()["items"]
    assert [e["amount"] for e in entries] == ["60.00", "-60.00", "100.00"]
    dup = await officer.post(
        pay, json={"amount": "0.01", "payee": "x", "voucher_no": "V3", "paid_on": days_ago(0)}
    )
    assert dup.status_code == 409


async def test_payment_inputs_are_checked(funds, registry_stub) -> None:
    stranger = registry_stub.add_household(VILLAGE_A)
    fund = await county_fund(funds)
    proposed = (await make_project(funds, [fund["id"]])).json()
    officer = county(funds)
    body = {"amount": "1.00", "payee": "x", "voucher_no": "V", "paid_on": days_ago(0)}
    assert (
        await officer.post(f"/v1/projects/{proposed['id']}/payments", json=body)
    ).status_code == 409
    project = await approved_project(funds, fund["id"])
    pay = f"/v1/projects/{project['id']}/payments"
    bads: list[dict[str, Any]] = [
        {"amount": "-1.00"},
        {"amount": "1.001"},
        {"amount": 0.3},
        {"household_id": str(stranger)},
    ]
    for bad in bads:
        response = await officer.post(pay, json=body | bad)
        assert response.status_code == 422, bad
    assert (await township(funds).post(pay, json=body)).status_code == 403


async def test_payments_are_append_only_in_the_database(funds, session) -> None:
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"])
    await county(funds).post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "1.00", "payee": "x", "voucher_no": "V", "paid_on": days_ago(0)},
    )
    import pytest
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE funds.payments SET amount = 2"))


async def test_a_retried_payment_is_recorded_once(funds) -> None:
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"])
    pay = f"/v1/projects/{project['id']}/payments"
    body = {"amount": "10.00", "payee": "x", "voucher_no": "K1", "paid_on": days_ago(0)}
    headers = {"Idempotency-Key": "pay-k1"}
    first = await county(funds).post(pay, json=body, headers=headers)
    retry = await county(funds).post(pay, json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == retry.json()["id"]
    assert (await county(funds).get(f"/v1/projects/{project['id']}")).json()["paid"] == "10.00"


async def test_a_fund_is_never_paid_beyond_what_the_county_received(funds) -> None:
    # 1000.00 reaches Xingyi; a project budgeted 5000.00 on it may still pay only 1000.00.
    fund = await county_fund(funds, amount="1000.00")
    project = await approved_project(funds, fund["id"], budget="5000.00")
    other = await approved_project(funds, fund["id"], budget="5000.00")
    officer = county(funds)

    def payment(voucher: str, amount: str) -> dict[str, str]:
        return {"amount": amount, "payee": "施工方", "voucher_no": voucher, "paid_on": days_ago(0)}

    pay = f"/v1/projects/{project['id']}/payments"
    too_much = await officer.post(pay, json=payment("V1", "5000.00"))
    assert too_much.status_code == 409
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert too_much.json()["available"] == "1000.00"
    first = await officer.post(pay, json=payment("V2", "600.00"))
    assert first.status_code == 201
    # The fund's money is shared by every project on it, whatever their budgets.
    other_pay = f"/v1/projects/{other['id']}/payments"
    over = await officer.post(other_pay, json=payment("W1", "400.01"))
    assert over.status_code == 409
    assert over.json()["available"] == "400.00"
    assert (await officer.post(other_pay, json=payment("W2", "400.00"))).status_code == 201
    # A reversal gives its money back to the fund.
    reversal = await officer.post(
        pay, json={"reverses": first.json()["id"], "voucher_no": "R1", "paid_on": days_ago(0)}
    )
    assert reversal.status_code == 201
    assert (await officer.post(other_pay, json=payment("W3", "600.00"))).status_code == 201

    read = (await province(funds).get(f"/v1/funds/{fund['id']}")).json()
    assert (read["amount"], read["paid"]) == ("1000.00", "1000.00")
    trace = (await province(funds).get(f"/v1/trace/funds/{fund['id']}")).json()
    assert trace["paid"] == "1000.00"


async def test_a_results_notice_counts_from_the_china_date_of_completion(funds) -> None:
    # Completed at 01:00 China time (17:00 UTC the day before), twelve days ago: a results
    # notice that began the day before, in China, was posted before the work was done.
    project = await approved_project(funds, (await county_fund(funds))["id"])
    path = f"/v1/projects/{project['id']}/actions"
    town = township(funds)
    assert (await town.post(path, json={"action": "start"})).status_code == 200
    assert (await town.post(path, json={"action": "complete"})).status_code == 200
    completed_on = clock.today() - timedelta(days=12)
    completed_at = datetime.combine(completed_on, time(1), clock.CHINA)
    async with funds.app.state.session_maker() as session:
        await session.execute(
            text("UPDATE funds.projects SET status_changed_at = :t WHERE id = :i"),
            {"t": completed_at, "i": project["id"]},
        )
        await session.commit()

    # From the day before completion to two days ago: not a notice of the results.
    assert (await post_notice(funds, project["id"], "results", start=13, end=2)).status_code == 201
    early = await county(funds).post(path, json={"action": "accept"})
    assert early.status_code == 409, early.text
    assert early.json()["missing_notice"] == "results"
    # From the day of completion: it counts.
    assert (await post_notice(funds, project["id"], "results", start=12, end=2)).status_code == 201
    accepted = await county(funds).post(path, json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text

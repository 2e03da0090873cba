"""Funds and the allocation chain: money as exact decimal strings, never beyond the fund,
and a region passes on only what it received."""

from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    QIANXINAN,
    XINGYI,
    XINGYI_TOWNSHIP,
    allocate,
    approved_project,
    county,
    county_fund,
    days_ago,
    make_fund,
    province,
)


async def test_a_fund_is_registered_with_its_amount_as_a_string(funds) -> None:
    fund = await make_fund(province(funds), amount="1234567.50")
    assert fund["amount"] == "1234567.50"
    assert fund["allocated"] == "0.00"
    assert fund["unallocated"] == "1234567.50"
    assert fund["region_code"] == GUIZHOU
    again = await province(funds).get(f"/v1/funds/{fund['id']}")
    assert again.json()["amount"] == "1234567.50"


async def test_bad_amounts_are_refused_as_problems(funds) -> None:
    admin = province(funds)
    base = {"source": "central", "fiscal_year": 2026, "document_no": "X-1"}
    for amount, fragment in [
        ("-1.00", "negative"),
        ("10.005", "two decimal places"),
        (0.1, "not exactly representable"),
        ("0", "more than zero"),
        ("abc", "not a decimal"),
    ]:
        response = await admin.post("/v1/funds", json=base | {"amount": amount})
        assert response.status_code == 422, amount
        assert response.headers["content-type"].startswith("application/problem+json")
        assert fragment in response.json()["errors"][0]["message"]
    assert (await admin.post("/v1/funds", json=base | {"amount": 12.5})).status_code == 201
    bad_source = await admin.post("/v1/funds", json=base | {"amount": "1", "source": "lottery"})
    assert bad_source.status_code == 422


async def test_duplicate_document_number_is_a_conflict(funds) -> None:
    admin = province(funds)
    body = {"source": "provincial", "fiscal_year": 2026, "amount": "5.00", "document_no": "D-1"}
    assert (await admin.post("/v1/funds", json=body)).status_code == 201
    assert (await admin.post("/v1/funds", json=body)).status_code == 409


async def test_village_cadre_may_not_register_funds(funds) -> None:
    cadre = funds.as_(Role.village_cadre, "522301100001")
    body = {"source": "county", "fiscal_year": 2026, "amount": "5.00", "document_no": "D-2"}
    assert (await cadre.post("/v1/funds", json=body)).status_code == 403


async def test_allocation_chain_province_city_county_and_limits(funds) -> None:
    admin = province(funds)
    fund = await make_fund(admin, amount="1000.00")
    assert (await allocate(admin, fund["id"], QIANXINAN, "600.00")).status_code == 201
    beyond = await allocate(admin, fund["id"], "520100000000", "400.01")
    assert beyond.status_code == 409
    assert beyond.json()["available"] == "400.00"
    assert (await allocate(admin, fund["id"], "520100000000", "400.00")).status_code == 201

    # The prefecture passes on at most the 600.00 it received.
    assert (await allocate(admin, fund["id"], XINGYI, "500.00", QIANXINAN)).status_code == 201
    over = await allocate(admin, fund["id"], PUAN, "100.01", QIANXINAN)
    assert over.status_code == 409
    assert over.json()["available"] == "100.00"
    assert (await allocate(admin, fund["id"], PUAN, "100.00", QIANXINAN)).status_code == 201

    # The county allocates its share on to a township, not to another county.
    officer = county(funds)
    assert (
        await allocate(officer, fund["id"], XINGYI_TOWNSHIP, "500.00", XINGYI)
    ).status_code == 201
    sideways = await allocate(officer, fund["id"], PUAN, "1.00", XINGYI)
    assert sideways.status_code == 422
    foreign = await allocate(officer, fund["id"], "522323100000", "1.00", PUAN)
    assert foreign.status_code == 404

    read = (await admin.get(f"/v1/funds/{fund['id']}")).json()
    assert read["allocated"] == "1000.00"
    assert read["unallocated"] == "0.00"

    # Both directions: down from the fund, up from a region.
    down = (await admin.get(f"/v1/funds/{fund['id']}/allocations")).json()["items"]
    assert len(down) == 5
    assert sum(a["amount"] == "500.00" for a in down) == 2
    mine = (await officer.get("/v1/allocations")).json()["items"]
    assert {(a["from_region_code"], a["region_code"]) for a in mine} == {
        (QIANXINAN, XINGYI),
        (XINGYI, XINGYI_TOWNSHIP),
    }
    assert all(a["fund_id"] == fund["id"] for a in mine)
    by_region = (await admin.get("/v1/allocations", params={"region": PUAN})).json()["items"]
    assert [a["amount"] for a in by_region] == ["100.00"]
    assert (await officer.get("/v1/allocations", params={"region": PUAN})).status_code == 404


async def test_a_county_fund_is_invisible_to_another_county(funds) -> None:
    fund = await make_fund(county(funds), source="county", amount="10.00")
    assert fund["region_code"] == XINGYI
    assert (await county(funds, PUAN).get(f"/v1/funds/{fund['id']}")).status_code == 404
    assert (await province(funds).get(f"/v1/funds/{fund['id']}")).status_code == 200


async def test_allocations_are_audited(funds, session) -> None:
    from sqlalchemy import text

    admin = province(funds)
    fund = await make_fund(admin, amount="10.00")
    await allocate(admin, fund["id"], QIANXINAN, "10.00")
    actions = (
        await session.execute(text("SELECT action FROM funds.change_log ORDER BY seq"))
    ).scalars()
    # The fund's new state (what it shows allocated) is published after its allocation.
    assert list(actions) == ["create", "allocate", "fund.updated"]


async def test_idempotency_key_replays_the_first_fund(funds) -> None:
    admin = province(funds)
    body = {"source": "central", "fiscal_year": 2026, "amount": "7.00", "document_no": "I-1"}
    headers = {"Idempotency-Key": "k-1"}
    first = await admin.post("/v1/funds", json=body, headers=headers)
    second = await admin.post("/v1/funds", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await admin.post("/v1/funds", json=body | {"amount": "8.00"}, headers=headers)
    assert other.status_code == 409


async def test_a_region_allocates_onward_only_what_it_has_not_paid(funds) -> None:
    # Xingyi received 1000.00 and paid 700.00 of it: 300.00 is left to pass on.
    fund = await county_fund(funds, amount="1000.00")
    project = await approved_project(funds, fund["id"], budget="700.00")
    officer = county(funds)
    paid = await officer.post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "700.00", "payee": "施工方", "voucher_no": "V1", "paid_on": days_ago(0)},
    )
    assert paid.status_code == 201
    over = await allocate(officer, fund["id"], XINGYI_TOWNSHIP, "300.01", XINGYI)
    assert over.status_code == 409
    assert over.json()["available"] == "300.00"
    assert (
        await allocate(officer, fund["id"], XINGYI_TOWNSHIP, "300.00", XINGYI)
    ).status_code == 201


async def test_a_county_fund_pays_and_allocates_at_most_its_amount(funds) -> None:
    # A fund the county issued itself: its amount is what the county holds.
    officer = county(funds)
    fund = await make_fund(officer, amount="500.00", source="county")
    project = await approved_project(funds, fund["id"], budget="800.00")
    pay = f"/v1/projects/{project['id']}/payments"
    body = {"payee": "施工方", "paid_on": days_ago(0)}
    assert (await allocate(officer, fund["id"], XINGYI_TOWNSHIP, "200.00")).status_code == 201
    over = await officer.post(pay, json=body | {"amount": "300.01", "voucher_no": "V1"})
    assert over.status_code == 409
    assert over.json()["available"] == "300.00"
    assert (
        await officer.post(pay, json=body | {"amount": "300.00", "voucher_no": "V2"})
    ).status_code == 201
    assert (await allocate(officer, fund["id"], XINGYI_TOWNSHIP, "0.01")).status_code == 409
    read = (await officer.get(f"/v1/funds/{fund['id']}")).json()
    assert (read["allocated"], read["paid"]) == ("200.00", "300.00")

"""The compliance scan: each rule raises a finding with its figures, a rerun keeps one open
finding per subject, and a finding closes when the problem is gone."""

import pytest
from sqlalchemy import text

from services.funds.jobs import compliance_scan
from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    QIANXINAN,
    XINGYI,
    allocate,
    completed_project,
    county,
    county_fund,
    days_ago,
    make_asset,
    make_fund,
    make_project,
    post_notice,
    province,
    second_county,
)


async def _backdate(session, sql: str, **params) -> None:
    # Entries are append-only (a trigger refuses UPDATE); tests move the clock by hand.
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(text(sql), params)
    await session.execute(text("SET LOCAL session_replication_role = origin"))
    await session.commit()


async def test_scan_raises_each_rule_and_closes_what_is_fixed(funds, session, job_ctx) -> None:
    officer = county(funds)
    fund = await county_fund(funds, amount="100000.00")
    # A housing project paid out of central funds: no industry share at all.
    housing = (await make_project(funds, [fund["id"]], budget="5000.00", kind="housing")).json()
    await post_notice(funds, housing["id"])
    await second_county(funds).post(
        f"/v1/projects/{housing['id']}/actions", json={"action": "approve"}
    )
    await officer.post(
        f"/v1/projects/{housing['id']}/payments",
        json={"amount": "1000.00", "payee": "施工方", "voucher_no": "H1", "paid_on": days_ago(0)},
    )
    done = await completed_project(funds, fund["id"])
    asset = await make_asset(funds, done["id"])
    income = await officer.post(
        f"/v1/assets/{asset['id']}/income", json={"period": "2025", "amount": "10.00"}
    )

    await _backdate(
        session, "UPDATE funds.allocations SET created_at = now() - interval '100 days'"
    )
    await _backdate(session, "UPDATE funds.payments SET created_at = now() - interval '200 days'")
    await _backdate(
        session,
        "UPDATE funds.projects SET status_changed_at = now() - interval '200 days' WHERE id = :i",
        i=housing["id"],
    )
    await _backdate(
        session,
        "UPDATE funds.projects SET status_changed_at = now() - interval '40 days' WHERE id = :i",
        i=done["id"],
    )
    await _backdate(
        session, "UPDATE funds.asset_income SET created_at = now() - interval '400 days'"
    )
    await _backdate(session, "UPDATE funds.assets SET created_at = now() - interval '500 days'")

    result = await compliance_scan(job_ctx)
    assert result["state"] == "done"
    findings = (await officer.get("/v1/compliance")).json()["items"]
    by_rule = {f["rule"]: f for f in findings}
    assert set(by_rule) == {
        "idle_funds",
        "stalled_project",
        "missing_notice",
        "idle_asset",
        "undistributed_income",
        "industry_share",
    }
    assert by_rule["idle_funds"]["figures"]["received"] == "100000.00"
    assert by_rule["idle_funds"]["figures"]["paid"] == "1000.00"
    assert by_rule["idle_funds"]["figures"]["idle"] == "99000.00"
    assert by_rule["idle_funds"]["figures"]["policy_days"] == 90
    assert by_rule["stalled_project"]["subject_id"] == housing["id"]
    assert by_rule["missing_notice"]["figures"]["missing"] == "results"
    assert by_rule["industry_share"]["figures"]["share"] == 0
    assert float(by_rule["industry_share"]["figures"]["minimum"]) == 0.6
    assert by_rule["undistributed_income"]["figures"]["amount"] == "10.00"
    assert all(f["region_code"].startswith("522301") for f in findings)
    assert (await county(funds, PUAN).get("/v1/compliance")).json()["items"] == []

    # A rerun keeps one open finding per subject; distributing the income closes its finding.
    await officer.post(
        f"/v1/assets/{asset['id']}/distributions",
        json={
            "income_id": income.json()["id"],
            "shares": [{"recipient_type": "village_works", "amount": "10.00"}],
        },
    )
    again = await compliance_scan(job_ctx)
    assert again["opened"] == 0
    assert again["closed"] == 1
    rules = [f["rule"] for f in (await officer.get("/v1/compliance")).json()["items"]]
    assert sorted(rules) == sorted(set(by_rule) - {"undistributed_income"})


async def test_on_demand_scan_is_queued_and_scoped(funds, job_ctx) -> None:
    officer = county(funds)
    queued = await officer.post("/v1/compliance/scans", json={})
    assert queued.status_code == 202
    scan = queued.json()
    assert scan["state"] == "queued"
    assert scan["region_code"] == XINGYI
    assert (
        await officer.post("/v1/compliance/scans", json={"region_code": GUIZHOU})
    ).status_code == 404
    assert (
        await funds.as_(Role.auditor, XINGYI).post("/v1/compliance/scans", json={})
    ).status_code == 403
    result = await compliance_scan(job_ctx, scan["id"])
    assert result["state"] == "done"
    read = (await officer.get(f"/v1/compliance/scans/{scan['id']}")).json()
    assert read["state"] == "done"
    # Idempotent: running the job again for a finished scan changes nothing.
    assert (await compliance_scan(job_ctx, scan["id"]))["state"] == "done"


async def _year_of_spending(funds, year: int, industry: str, housing: str) -> None:
    admin, officer = province(funds), county(funds)
    fund = await make_fund(admin, amount="1000.00", year=year)
    await allocate(admin, fund["id"], QIANXINAN, "1000.00")
    await allocate(admin, fund["id"], XINGYI, "1000.00", QIANXINAN)
    for kind, amount in (("industry", industry), ("housing", housing)):
        project = (await make_project(funds, [fund["id"]], budget="500.00", kind=kind)).json()
        assert project["fiscal_year"] == year
        await post_notice(funds, project["id"])
        await second_county(funds).post(
            f"/v1/projects/{project['id']}/actions", json={"action": "approve"}
        )
        paid = await officer.post(
            f"/v1/projects/{project['id']}/payments",
            json={
                "amount": amount,
                "payee": "x",
                "voucher_no": f"{year}{kind}",
                "paid_on": days_ago(0),
            },
        )
        assert paid.status_code == 201


async def test_industry_share_may_not_fall_below_last_year_in_2022(funds, job_ctx) -> None:
    await _year_of_spending(funds, 2021, industry="80.00", housing="20.00")
    await _year_of_spending(funds, 2022, industry="70.00", housing="30.00")
    await compliance_scan(job_ctx)
    findings = (
        await county(funds).get("/v1/compliance", params={"rule": "industry_share"})
    ).json()["items"]
    assert [f["subject_id"] for f in findings] == [f"{XINGYI}:2022"]
    figures = findings[0]["figures"]
    assert figures["share"] == 0.7
    assert figures["previous_share"] == 0.8


async def test_the_scheduled_scan_covers_the_configured_province(
    job_ctx, session, monkeypatch
) -> None:
    monkeypatch.setenv("POVGUARD_PROVINCE_CODE", "530000000000")
    result = await compliance_scan(job_ctx)
    assert result["state"] == "done"
    region = await session.scalar(
        text("SELECT region_code FROM funds.compliance_scans WHERE id = :i"),
        {"i": result["scan_id"]},
    )
    assert region == "530000000000"


async def test_the_scheduled_scan_retries_a_lost_connection_and_fails_on_its_last_try(
    job_ctx, monkeypatch
) -> None:
    from arq import Retry

    from services.funds.compliance import repository as compliance_repository
    from workers.main import create_worker

    async def connection_lost(*_: object) -> None:
        raise ConnectionResetError("server closed the connection")

    monkeypatch.setattr(compliance_repository, "apply_scan", connection_lost)
    with pytest.raises(Retry):  # ARQ runs it again later
        await compliance_scan({**job_ctx, "job_try": 1})
    with pytest.raises(ConnectionResetError):  # the last try
        await compliance_scan({**job_ctx, "job_try": 3})

    async def wrong(*_: object) -> None:
        raise ValueError("figures out of range")

    monkeypatch.setattr(compliance_repository, "apply_scan", wrong)
    with pytest.raises(ValueError, match="out of range"):  # not transient: no retry
        await compliance_scan({**job_ctx, "job_try": 1})
    # The nightly tick may be tried as often as the job allows, or its Retry would be refused.
    (tick,) = [
        c
        for c in create_worker(job_ctx["settings"]).cron_jobs
        if c.name == "cron:funds_compliance_scan"
    ]
    assert tick.max_tries == 3

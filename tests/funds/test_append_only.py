"""Payments, the funds ledgers and the change log of every schema are append-only in the
database itself: triggers refuse UPDATE, DELETE and TRUNCATE whoever asks, and the service
roles of deploy/database-roles.sql do not even hold those privileges there."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import ROOT
from tests.funds.conftest import approved_project, county, county_fund, days_ago

AUDIT_LOGS = ("registry.change_log", "monitoring.change_log", "funds.change_log")
FUNDS_LEDGERS = (
    "funds.payments",
    "funds.allocations",
    "funds.asset_income",
    "funds.distributions",
    "funds.distribution_shares",
    "funds.payment_confirmations",
)


async def _refused(connection, sql: str) -> str:
    nested = await connection.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        await connection.execute(text(sql))
    await nested.rollback()
    return str(caught.value)


async def _paid_project(funds) -> str:
    fund = await county_fund(funds)
    project = await approved_project(funds, fund["id"])
    paid = await county(funds).post(
        f"/v1/projects/{project['id']}/payments",
        json={"amount": "10.00", "payee": "施工方", "voucher_no": "V1", "paid_on": days_ago(0)},
    )
    assert paid.status_code == 201, paid.text
    return paid.json()["id"]


async def test_ledgers_and_audit_logs_refuse_update_delete_and_truncate(funds, connection) -> None:
    await _paid_project(funds)  # a payment, allocations and funds audit rows
    for table in AUDIT_LOGS[:2]:
        await connection.execute(
            text(
                f"INSERT INTO {table} (actor, actor_role, action, entity, entity_id, "
                "region_code) VALUES ('someone', 'county_officer', 'create', 'x', '1', "
                "'522301000000')"
            )
        )
    for table in ("funds.payments", "funds.allocations", *AUDIT_LOGS):
        assert "append-only" in await _refused(
            connection, f"UPDATE {table} SET region_code = region_code"
        )
        assert "append-only" in await _refused(connection, f"DELETE FROM {table}")
    for table in (*FUNDS_LEDGERS, *AUDIT_LOGS):
        assert "append-only" in await _refused(connection, f"TRUNCATE {table} CASCADE")
    remaining = await connection.execute(text("SELECT count(*) FROM funds.payments"))
    assert remaining.scalar_one() == 1


async def test_the_funds_role_cannot_delete_a_payment(funds, connection) -> None:
    payment_id = await _paid_project(funds)
    script = (Path(ROOT) / "deploy" / "database-roles.sql").read_text()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.execute(script)  # in the test's transaction, rolled back
    await connection.execute(text("SET LOCAL ROLE povguard_funds"))
    seen = await connection.execute(
        text("SELECT count(*) FROM funds.payments WHERE id = :i"), {"i": payment_id}
    )
    assert seen.scalar_one() == 1
    for sql in (
        f"DELETE FROM funds.payments WHERE id = '{payment_id}'",
        "UPDATE funds.payments SET payee = 'x'",
        "TRUNCATE funds.payments CASCADE",
        "DELETE FROM funds.change_log",
        "SELECT count(*) FROM registry.households",  # another service's schema
    ):
        assert "permission denied" in await _refused(connection, sql), sql
    # Elsewhere in its schema the usual rights: a project's status changes.
    await connection.execute(text("UPDATE funds.projects SET name = name"))
    await connection.execute(text("RESET ROLE"))

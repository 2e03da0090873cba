"""Which funds policy is in force for a year (资金政策参数), as ``shared.policy`` means it for
every service: the latest year not after it, within that year the county's own row before the
province's (so a county's override never outlives the year it tightened)."""

from sqlalchemy import text

from services.funds.jobs import compliance_scan
from shared.auth import Role
from tests.funds.conftest import (
    GUIZHOU,
    PUAN,
    XINGYI,
    XINGYI_TOWNSHIP,
    county,
    county_fund,
    province,
)
from tests.funds.test_policy import FIELDS


def _row(policy: dict) -> tuple[str, int, int]:
    return policy["region_code"], policy["year"], policy["notice_days"]


async def test_a_newer_province_year_replaces_an_older_county_override(funds) -> None:
    assert (await county(funds).put("/v1/policy/2024", json=FIELDS)).status_code == 200
    later = await province(funds).put("/v1/policy/2025", json=FIELDS | {"notice_days": 12})
    assert later.status_code == 200

    # The county's own 2024 row in 2024; from 2025 the province's newer year.
    assert _row((await county(funds).get("/v1/policy/2024")).json()) == (XINGYI, 2024, 7)
    assert _row((await county(funds).get("/v1/policy/2025")).json()) == (GUIZHOU, 2025, 12)
    # Below the county: the same rows as the county.
    township = funds.as_(Role.township_officer, XINGYI_TOWNSHIP)
    assert _row((await township.get("/v1/policy/2024")).json()) == (XINGYI, 2024, 7)
    assert _row((await township.get("/v1/policy/2026")).json()) == (GUIZHOU, 2025, 12)
    # A county without its own row: the province's latest.
    assert _row((await county(funds, PUAN).get("/v1/policy/2024")).json()) == (GUIZHOU, 2023, 10)

    # Within one year the county's own row comes before the province's.
    assert (await county(funds).put("/v1/policy/2025", json=FIELDS)).status_code == 200
    assert _row((await county(funds).get("/v1/policy/2026")).json()) == (XINGYI, 2025, 7)
    # The province reads its own row, never a county's.
    assert _row((await province(funds).get("/v1/policy/2025")).json()) == (GUIZHOU, 2025, 12)


async def test_a_row_is_in_force_from_its_year_on_and_not_before(funds) -> None:
    assert (await county(funds).put("/v1/policy/2030", json=FIELDS)).status_code == 200

    # Before the county's row took effect: the province's latest row not after that year.
    assert _row((await county(funds).get("/v1/policy/2029")).json()) == (GUIZHOU, 2023, 10)
    assert _row((await county(funds).get("/v1/policy/2022")).json()) == (GUIZHOU, 2021, 10)
    assert _row((await county(funds).get("/v1/policy/2030")).json()) == (XINGYI, 2030, 7)
    # Before any row at all: refused with a clear error.
    assert (await county(funds).get("/v1/policy/2020")).status_code == 422


async def test_the_compliance_scan_reads_the_same_policy_row(funds, session, job_ctx) -> None:
    """The scan joins each row to its policy with ``shared.policy.in_force`` too (rendered as
    SQL): the row it judges by is the one GET /policy answers."""
    # An older county override (idle after 30 days), the province's newer 2026 row (200 days)
    # and the county's own 2026 row (60 days): the scan, like GET /policy, takes the last.
    older = await county(funds).put("/v1/policy/2025", json=FIELDS | {"idle_days": 30})
    assert older.status_code == 200
    newer = await province(funds).put("/v1/policy/2026", json=FIELDS | {"idle_days": 200})
    assert newer.status_code == 200
    assert (await county(funds).get("/v1/policy/2026")).json()["idle_days"] == 200
    assert (await county(funds).put("/v1/policy/2026", json=FIELDS)).status_code == 200
    assert (await county(funds).get("/v1/policy/2026")).json()["idle_days"] == 60
    await county_fund(funds)  # fiscal year 2026, allocated to Xingyi and not paid
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(
        text("UPDATE funds.allocations SET created_at = now() - interval '100 days'")
    )
    await session.execute(text("SET LOCAL session_replication_role = origin"))
    await session.commit()

    assert (await compliance_scan(job_ctx))["state"] == "done"
    findings = (await county(funds).get("/v1/compliance", params={"rule": "idle_funds"})).json()
    assert [f["figures"]["policy_days"] for f in findings["items"]] == [60]

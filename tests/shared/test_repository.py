"""The repository base: a row out of the caller's sight reads as missing, a created row comes
back as the database stored it with its audit entry, and lists page by key."""

from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.database import ChangeLogEntry as AuditLog
from services.funds.funding.models import Fund
from services.funds.funding.repository import FundRepository
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.repository import Audit
from tests.conftest import PUAN, XINGYI

GUIZHOU = "520000000000"


def _officer(region: str) -> Principal:
    return Principal(sub=f"officer-{region}", role=Role.county_officer, region_code=region)


def _fund(region: str, document_no: str) -> Fund:
    return Fund(
        region_code=region,
        source="county",
        fiscal_year=2025,
        amount="1000.00",
        document_no=document_no,
        created_by="test",
    )


async def test_create_reads_back_the_row_and_writes_its_audit_entry(session: AsyncSession) -> None:
    officer = _officer(XINGYI)
    repo = FundRepository(session)
    fund = await repo.create(_fund(XINGYI, "兴财-1"), audit=Audit(officer, "create", new={"a": 1}))
    assert fund.created_at is not None  # read back: the database filled it in
    assert fund.version == 1
    # A fund's audit entry pairs with its ``fund.created`` event: written at the next flush.
    await session.flush()
    entry = (
        await session.execute(select(AuditLog).where(AuditLog.entity_id == str(fund.id)))
    ).scalar_one()
    assert (entry.actor, entry.action, entry.entity, entry.region_code) == (
        officer.sub,
        "create",
        "fund",
        XINGYI,
    )


async def test_get_visible_answers_404_alike_for_missing_and_out_of_sight(
    session: AsyncSession,
) -> None:
    repo = FundRepository(session)
    puan_fund = await repo.create(_fund(PUAN, "普财-1"))
    province_fund = await repo.create(_fund(GUIZHOU, "黔财-1"))
    xingyi = _officer(XINGYI)
    with pytest.raises(NotFound) as elsewhere:
        await repo.get_visible(puan_fund.id, xingyi)
    with pytest.raises(NotFound) as missing:
        await repo.get_visible(UUID(int=1), xingyi)
    assert str(elsewhere.value.detail) == str(missing.value.detail) == "fund not found"
    # Funds' scope: what a region above the caller holds is published to them.
    assert await repo.get_visible(province_fund.id, xingyi) is province_fund
    assert await repo.get_visible(puan_fund.id, _officer(PUAN)) is puan_fund


async def test_paginate_pages_by_key_without_repeats(session: AsyncSession) -> None:
    repo = FundRepository(session)
    for n in range(5):
        await repo.create(_fund(XINGYI, f"兴财-页-{n}"))
    stmt = select(Fund).where(Fund.document_no.startswith("兴财-页-"))
    seen, cursor = [], None
    while True:
        page, cursor = await repo.paginate(stmt, [Fund.created_at, Fund.id], cursor, 2)
        seen += [f.document_no for f in page]
        if cursor is None:
            break
    assert sorted(seen) == [f"兴财-页-{n}" for n in range(5)]

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select

from services.funds.funding.models import Allocation, Fund
from services.funds.payments.models import Payment
from services.funds.payments.repository import counted
from services.funds.repository import FundsRepository
from shared.i18n import t

ZERO = Decimal("0.00")


class FundRepository(FundsRepository[Fund]):
    model = Fund
    entity = "fund"
    not_found = t("fund not found", "fund.not_found")

    async def by_document_no(self, document_no: str) -> Fund | None:
        stmt = select(Fund).where(Fund.document_no == document_no)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def paid(self, fund_id: UUID) -> Decimal:
        """What counts as paid of the fund (below the threshold or confirmed)."""
        stmt = select(func.coalesce(func.sum(Payment.amount), ZERO)).where(
            Payment.fund_id == fund_id, counted()
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def paid_in(self, fund_id: UUID, region_code: str) -> Decimal:
        """What ``region_code`` paid of this fund, net of reversals, awaiting confirmation
        or not: a payment reserves its money from the moment it is recorded."""
        stmt = select(func.coalesce(func.sum(Payment.amount), ZERO)).where(
            Payment.fund_id == fund_id, Payment.region_code == region_code
        )
        return (await self.session.execute(stmt)).scalar_one()


class AllocationRepository(FundsRepository[Allocation]):
    model = Allocation
    entity = "allocation"

    async def received(self, fund_id: UUID, region_code: str) -> Decimal:
        """What ``region_code`` received of this fund."""
        stmt = select(func.coalesce(func.sum(Allocation.amount), ZERO)).where(
            Allocation.fund_id == fund_id, Allocation.region_code == region_code
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def passed_on(self, fund_id: UUID, region_code: str) -> Decimal:
        """What ``region_code`` allocated onward of this fund."""
        stmt = select(func.coalesce(func.sum(Allocation.amount), ZERO)).where(
            Allocation.fund_id == fund_id, Allocation.from_region_code == region_code
        )
        return (await self.session.execute(stmt)).scalar_one()

    def in_fund(self, fund_id: UUID, prefix: str) -> Select[Any]:
        """A fund's allocations that touch the caller's region (sent or received there)."""
        return select(Allocation).where(
            Allocation.fund_id == fund_id,
            (Allocation.region_code.startswith(prefix, autoescape=True))
            | (Allocation.from_region_code.startswith(prefix, autoescape=True)),
        )

    def received_in(self, prefix: str, fund_id: UUID | None, year: int | None) -> Select[Any]:
        """Allocations received by a region or below it."""
        stmt = select(Allocation).where(Allocation.region_code.startswith(prefix, autoescape=True))
        if fund_id is not None:
            stmt = stmt.where(Allocation.fund_id == fund_id)
        if year is not None:
            stmt = stmt.where(Allocation.fiscal_year == year)
        return stmt

from typing import Any
from uuid import UUID

from sqlalchemy import Select, insert, or_, select

from services.funds.assets.models import Asset, AssetIncome, Distribution, DistributionShare
from services.funds.repository import FundsRepository
from shared.i18n import t


class AssetRepository(FundsRepository[Asset]):
    model = Asset
    entity = "asset"
    not_found = t("asset not found", "asset.not_found")

    def ledger(
        self, prefix: str, above: list[str], kind: str | None, status: str | None
    ) -> Select[Any]:
        """Assets in the region of ``prefix``, and those held by the regions ``above``."""
        stmt = select(Asset).where(
            or_(Asset.region_code.startswith(prefix, autoescape=True), Asset.region_code.in_(above))
        )
        if kind is not None:
            stmt = stmt.where(Asset.kind == kind)
        if status is not None:
            stmt = stmt.where(Asset.status == status)
        return stmt


class IncomeRepository(FundsRepository[AssetIncome]):
    model = AssetIncome
    entity = "asset"

    async def by_period(self, asset_id: UUID, period: str) -> AssetIncome | None:
        stmt = select(AssetIncome).where(
            AssetIncome.asset_id == asset_id, AssetIncome.period == period
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_asset(self, asset_id: UUID) -> list[tuple[AssetIncome, bool]]:
        stmt = (
            select(AssetIncome, Distribution.id.is_not(None))
            .outerjoin(Distribution, Distribution.income_id == AssetIncome.id)
            .where(AssetIncome.asset_id == asset_id)
            .order_by(AssetIncome.period)
        )
        return [(row[0], bool(row[1])) for row in await self.session.execute(stmt)]


class DistributionRepository(FundsRepository[Distribution]):
    model = Distribution
    entity = "asset"

    async def of_income(self, income_id: UUID) -> Distribution | None:
        stmt = select(Distribution).where(Distribution.income_id == income_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_shares(self, rows: list[dict[str, Any]]) -> None:
        await self.session.execute(insert(DistributionShare), rows)

    async def shares(self, distribution_id: UUID) -> list[DistributionShare]:
        stmt = (
            select(DistributionShare)
            .where(DistributionShare.distribution_id == distribution_id)
            .order_by(DistributionShare.position)
        )
        return list((await self.session.execute(stmt)).scalars())

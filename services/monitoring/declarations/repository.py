from typing import Any
from uuid import UUID

from sqlalchemy import or_, select

from services.monitoring.cases.models import MonitoringCase
from services.monitoring.declarations.models import Declaration
from services.monitoring.projection.models import WatchedMember
from shared.repository import RepositoryBase


def _registered_in(prefix: str) -> Any:
    """The declarant is a member the projection places inside region ``prefix`` (probed per
    declaration through the ID-number index, never a scan of the region's members)."""
    return (
        select(WatchedMember.id)
        .where(
            WatchedMember.id_number == Declaration.id_number,
            WatchedMember.region_code.startswith(prefix, autoescape=True),
        )
        .exists()
    )


class DeclarationRepository(RepositoryBase[Declaration]):
    model = Declaration

    async def by_tracking_code(self, code: str) -> Declaration | None:
        stmt = select(Declaration).where(Declaration.tracking_code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def visible_query(self, prefix: str, status: str | None = None) -> Any:
        """Declarations an official of region ``prefix`` reviews: those naming a village inside
        it, and those whose declarant the projection registers inside it."""
        stmt = select(Declaration).where(
            or_(
                Declaration.region_code.startswith(prefix, autoescape=True),
                _registered_in(prefix),
            )
        )
        if status is not None:
            stmt = stmt.where(Declaration.status == status)
        return stmt

    async def visible(
        self, declaration_id: UUID, prefix: str, *, for_update: bool = False
    ) -> Declaration | None:
        stmt = self.visible_query(prefix).where(Declaration.id == declaration_id)
        if for_update:
            stmt = stmt.with_for_update(of=Declaration)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def households_in(self, id_numbers: list[str], prefix: str) -> dict[str, UUID]:
        """The household each ID number belongs to inside ``prefix`` (present members first)."""
        if not id_numbers:
            return {}
        stmt = (
            select(WatchedMember.id_number, WatchedMember.household_id)
            .where(
                WatchedMember.id_number.in_(id_numbers),
                WatchedMember.region_code.startswith(prefix, autoescape=True),
            )
            .order_by(WatchedMember.id_number, WatchedMember.departed_on.desc().nulls_first())
        )
        found: dict[str, UUID] = {}
        for number, household_id in await self.session.execute(stmt):
            if number is not None:  # never: the query matched it
                found.setdefault(number, household_id)
        return found

    async def case_regions(self, case_ids: list[UUID]) -> dict[UUID, str]:
        if not case_ids:
            return {}
        stmt = select(MonitoringCase.id, MonitoringCase.region_code).where(
            MonitoringCase.id.in_(case_ids)
        )
        return {case_id: region for case_id, region in await self.session.execute(stmt)}

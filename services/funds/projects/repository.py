from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy import Select, insert, select

from services.funds.funding.models import Allocation, Fund
from services.funds.projects.models import Project, ProjectBeneficiary, ProjectEvent, ProjectFund
from services.funds.repository import FundsRepository
from shared.i18n import t


class ProjectRepository(FundsRepository[Project]):
    model = Project
    entity = "project"
    not_found = t("project not found", "project.not_found")

    async def funds_reaching(self, fund_ids: list[UUID], county_code: str) -> dict[UUID, Fund]:
        """The funds among ``fund_ids`` the county holds or received an allocation of."""
        received = select(Allocation.fund_id).where(Allocation.region_code == county_code)
        stmt = select(Fund).where(
            Fund.id.in_(fund_ids), (Fund.region_code == county_code) | Fund.id.in_(received)
        )
        return {f.id: f for f in (await self.session.execute(stmt)).scalars()}

    async def link(
        self, project: Project, fund_ids: list[UUID], beneficiaries: dict[UUID, str]
    ) -> None:
        if fund_ids:
            await self.session.execute(
                insert(ProjectFund),
                [
                    {"project_id": project.id, "fund_id": f, "region_code": project.region_code}
                    for f in fund_ids
                ],
            )
        if beneficiaries:
            await self.session.execute(
                insert(ProjectBeneficiary),
                [
                    {"project_id": project.id, "household_id": h, "region_code": r}
                    for h, r in beneficiaries.items()
                ],
            )

    async def fund_ids(self, project_ids: list[UUID]) -> dict[UUID, list[UUID]]:
        rows = await self.session.execute(
            select(ProjectFund.project_id, ProjectFund.fund_id)
            .where(ProjectFund.project_id.in_(project_ids))
            .order_by(ProjectFund.fund_id)
        )
        out: dict[UUID, list[UUID]] = defaultdict(list)
        for project_id, fund_id in rows:
            out[project_id].append(fund_id)
        return out

    async def beneficiary_ids(
        self, project_ids: list[UUID], households_in: str | None = None
    ) -> dict[UUID, list[UUID]]:
        """Each project's beneficiary households (with ``households_in``, a region prefix:
        only those of that region)."""
        stmt = (
            select(ProjectBeneficiary.project_id, ProjectBeneficiary.household_id)
            .where(ProjectBeneficiary.project_id.in_(project_ids))
            .order_by(ProjectBeneficiary.household_id)
        )
        if households_in is not None:
            stmt = stmt.where(
                ProjectBeneficiary.region_code.startswith(households_in, autoescape=True)
            )
        rows = await self.session.execute(stmt)
        out: dict[UUID, list[UUID]] = defaultdict(list)
        for project_id, household_id in rows:
            out[project_id].append(household_id)
        return out

    async def is_beneficiary(self, project_id: UUID, household_id: UUID) -> bool:
        stmt = select(ProjectBeneficiary.household_id).where(
            ProjectBeneficiary.project_id == project_id,
            ProjectBeneficiary.household_id == household_id,
        )
        return (await self.session.execute(stmt)).first() is not None

    def listing(self, prefix: str, status: str | None, kind: str | None) -> Select[Any]:
        stmt = select(Project).where(Project.region_code.startswith(prefix, autoescape=True))
        if status is not None:
            stmt = stmt.where(Project.status == status)
        if kind is not None:
            stmt = stmt.where(Project.kind == kind)
        return stmt

    def add_event(self, event: ProjectEvent) -> None:
        self.session.add(event)

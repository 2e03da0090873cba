from collections import defaultdict
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, insert, select

from services.funds.funding.models import Allocation, Fund
from services.funds.projects.models import (
    Notice,
    Payment,
    PaymentConfirmation,
    Project,
    ProjectBeneficiary,
    ProjectEvent,
    ProjectFund,
    counted,
)
from shared.db import RepositoryBase

ZERO = Decimal("0.00")


class ProjectRepository(RepositoryBase[Project]):
    model = Project

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

    async def paid(self, project_ids: list[UUID]) -> dict[UUID, Decimal]:
        """What counts as paid: entries below the threshold or confirmed, net of reversals."""
        rows = await self.session.execute(
            select(Payment.project_id, func.sum(Payment.amount))
            .where(Payment.project_id.in_(project_ids), counted())
            .group_by(Payment.project_id)
        )
        return {project_id: total for project_id, total in rows}

    async def booked(self, project_ids: list[UUID]) -> dict[UUID, Decimal]:
        """Every entry, awaiting confirmation or not: what the budget checks reserve."""
        rows = await self.session.execute(
            select(Payment.project_id, func.sum(Payment.amount))
            .where(Payment.project_id.in_(project_ids))
            .group_by(Payment.project_id)
        )
        return {project_id: total for project_id, total in rows}

    def listing(self, prefix: str, status: str | None, kind: str | None):
        stmt = select(Project).where(Project.region_code.startswith(prefix, autoescape=True))
        if status is not None:
            stmt = stmt.where(Project.status == status)
        if kind is not None:
            stmt = stmt.where(Project.kind == kind)
        return stmt

    async def finished_notice(
        self, project_id: UUID, purpose: str, min_days: int, today: date, not_before: date | None
    ) -> Notice | None:
        """A notice on the project, of this purpose, long enough and already over."""
        stmt = (
            select(Notice)
            .where(
                Notice.subject_id == project_id,
                Notice.purpose == purpose,
                Notice.ends_on < today,
                Notice.ends_on - Notice.starts_on + 1 >= min_days,
            )
            .order_by(Notice.ends_on.desc())
            .limit(1)
        )
        if not_before is not None:
            stmt = stmt.where(Notice.starts_on >= not_before)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_event(self, event: ProjectEvent) -> None:
        self.session.add(event)


class PaymentRepository(RepositoryBase[Payment]):
    model = Payment

    async def voucher_taken(self, project_id: UUID, voucher_no: str) -> bool:
        stmt = select(Payment.id).where(
            Payment.project_id == project_id, Payment.voucher_no == voucher_no
        )
        return (await self.session.execute(stmt)).first() is not None

    async def reversal_of(self, payment_id: UUID) -> Payment | None:
        stmt = select(Payment).where(Payment.reverses_id == payment_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def confirmations(self, payment_ids: list[UUID]) -> dict[UUID, str]:
        """Who confirmed each of these payments (those confirmed)."""
        rows = await self.session.execute(
            select(PaymentConfirmation.payment_id, PaymentConfirmation.confirmed_by).where(
                PaymentConfirmation.payment_id.in_(payment_ids)
            )
        )
        return {payment_id: by for payment_id, by in rows}

    def add_confirmation(self, confirmation: PaymentConfirmation) -> None:
        self.session.add(confirmation)

    def of_project(self, project_id: UUID, households_in: str | None = None):
        """A project's entries; with ``households_in`` (a region prefix) only the entries
        paid to beneficiary households of that region."""
        stmt = select(Payment).where(Payment.project_id == project_id)
        if households_in is not None:
            stmt = stmt.join(
                ProjectBeneficiary,
                (ProjectBeneficiary.project_id == Payment.project_id)
                & (ProjectBeneficiary.household_id == Payment.household_id),
            ).where(ProjectBeneficiary.region_code.startswith(households_in, autoescape=True))
        return stmt

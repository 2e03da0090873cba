from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from services.funds.payments.models import Payment, PaymentConfirmation
from services.funds.projects.models import ProjectBeneficiary
from services.funds.repository import FundsRepository
from shared.i18n import t


def counted_sql(alias: str = "funds.payments") -> str:
    """The SQL condition under which payment row ``alias`` counts as paid: below the
    threshold, or confirmed (a reversal counts when the payment it reverses does). The one
    definition every paid figure uses."""
    return (
        f"(NOT {alias}.needs_confirmation OR EXISTS (SELECT 1 FROM funds.payment_confirmations "
        f"pc WHERE pc.payment_id = coalesce({alias}.reverses_id, {alias}.id)))"
    )


def counted() -> ColumnElement[bool]:
    """``counted_sql`` for ORM queries on ``Payment``."""
    return text(counted_sql("funds.payments"))  # type: ignore[return-value]


class PaymentRepository(FundsRepository[Payment]):
    model = Payment
    entity = "payment"
    not_found = t("payment not found", "payment.not_found")

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

    def of_project(self, project_id: UUID, households_in: str | None = None) -> Select[Any]:
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

    async def paid_by_project(self, project_ids: list[UUID]) -> dict[UUID, Decimal]:
        """What counts as paid: entries below the threshold or confirmed, net of reversals."""
        rows = await self.session.execute(
            select(Payment.project_id, func.sum(Payment.amount))
            .where(Payment.project_id.in_(project_ids), counted())
            .group_by(Payment.project_id)
        )
        return {project_id: total for project_id, total in rows}

    async def booked_by_project(self, project_ids: list[UUID]) -> dict[UUID, Decimal]:
        """Every entry, awaiting confirmation or not: what the budget checks reserve."""
        rows = await self.session.execute(
            select(Payment.project_id, func.sum(Payment.amount))
            .where(Payment.project_id.in_(project_ids))
            .group_by(Payment.project_id)
        )
        return {project_id: total for project_id, total in rows}

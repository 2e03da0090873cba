from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.database import Base
from shared.db import RegionCode


class Payment(Base):
    """One payment entry, append-only. A correction is a new entry with the opposite amount
    that names the entry it reverses (``reverses_id``, at most one reversal per entry)."""

    __tablename__ = "payments"
    __table_args__ = (
        Index(None, "project_id", "paid_on"),
        Index(None, "project_id", "voucher_no", unique=True),
        Index(None, "fund_id", "region_code"),
        Index(None, "household_id", postgresql_where="household_id IS NOT NULL"),
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="sign",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    # Entry order of the ledger (created_at is one instant for a whole transaction).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"))
    fund_id: Mapped[UUID] = mapped_column(ForeignKey("funds.id"))
    region_code: Mapped[str] = RegionCode()
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    payee: Mapped[str] = mapped_column(String(200))
    voucher_no: Mapped[str] = mapped_column(String(100))
    paid_on: Mapped[date] = mapped_column(Date)
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    reverses_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("payments.id"), nullable=True, unique=True
    )
    # Above the policy's threshold when recorded: counts as paid only once a second county
    # account confirmed it (a reversal follows the payment it reverses).
    needs_confirmation: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PaymentConfirmation(Base):
    """A second county-or-above account's confirmation of a payment above the threshold
    (不相容职务分离: who records a payment does not confirm it). Append-only, one per
    payment."""

    __tablename__ = "payment_confirmations"
    __table_args__ = (Index(None, "project_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    payment_id: Mapped[UUID] = mapped_column(ForeignKey("payments.id"), unique=True)
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"))
    region_code: Mapped[str] = RegionCode()
    confirmed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

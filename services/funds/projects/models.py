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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from services.funds.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

PROJECT_KINDS = (
    "industry",
    "infrastructure",
    "employment",
    "education",
    "health",
    "housing",
    "drinking_water",
    "other",
)
PROJECT_STATUSES = ("proposed", "approved", "in_progress", "completed", "accepted", "cancelled")


class Project(VersionedMixin, TimestampMixin, Base):
    """A project of the county project library (项目库)."""

    __tablename__ = "projects"
    __table_args__ = (
        Index(None, "region_code", "status", "kind"),
        Index(None, "status", "status_changed_at"),
        CheckConstraint("budget >= 0", name="budget_non_negative"),
        CheckConstraint(f"kind IN {PROJECT_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {PROJECT_STATUSES!r}", name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()  # the county
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    fiscal_year: Mapped[int]
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by: Mapped[str] = mapped_column(String(100))


class ProjectFund(Base):
    """Which funds a project draws on."""

    __tablename__ = "project_funds"
    __table_args__ = (Index(None, "fund_id"),)

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    fund_id: Mapped[UUID] = mapped_column(ForeignKey("funds.id"), primary_key=True)
    region_code: Mapped[str] = RegionCode()


class ProjectBeneficiary(Base):
    """A registry household a project benefits (checked against the registry API)."""

    __tablename__ = "project_beneficiaries"
    __table_args__ = (Index(None, "household_id"),)

    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    household_id: Mapped[UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = RegionCode()  # the household's village


class ProjectEvent(Base):
    """The project's lifecycle history (who moved it, when, why)."""

    __tablename__ = "project_events"
    __table_args__ = (Index(None, "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"))
    region_code: Mapped[str] = RegionCode()
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    notice_id: Mapped[UUID | None] = mapped_column(nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notice(Base):
    """A public notice (公告公示): ``plan`` before approval, ``results`` before acceptance."""

    __tablename__ = "notices"
    __table_args__ = (
        Index(None, "subject_id", "purpose", "ends_on"),
        Index(None, "region_code", "ends_on"),
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("purpose IN ('plan','results','other')", name="purpose"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[UUID]
    purpose: Mapped[str] = mapped_column(String(20), default="plan")
    region_code: Mapped[str] = RegionCode()
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(String(5000))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


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

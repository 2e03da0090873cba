from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

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

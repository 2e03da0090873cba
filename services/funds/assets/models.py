from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

ASSET_KINDS = ("operating", "public_welfare", "household")
OWNER_TYPES = ("village_collective", "household", "other")
ASSET_STATUSES = ("active", "disposal_requested", "disposal_approved", "disposed")
RECIPIENT_TYPES = ("household", "public_welfare_job", "village_works")


class Asset(VersionedMixin, TimestampMixin, Base):
    """An asset a project formed (扶贫项目资产), one line of the asset ledger (台账)."""

    __tablename__ = "assets"
    __table_args__ = (
        Index(None, "region_code", "kind"),
        Index(None, "project_id"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        CheckConstraint(f"kind IN {ASSET_KINDS!r}", name="kind"),
        CheckConstraint(f"owner_type IN {OWNER_TYPES!r}", name="owner_type"),
        CheckConstraint(f"status IN {ASSET_STATUSES!r}", name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id"))
    region_code: Mapped[str] = RegionCode()
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(String(64))
    custodian: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    disposal_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    disposal_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    disposal_requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    disposal_approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    disposal_proceeds: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    disposed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))


class AssetIncome(Base):
    """Income an operating asset earned in one period (资产收益), append-only."""

    __tablename__ = "asset_income"
    __table_args__ = (
        Index(None, "asset_id", "period", unique=True),
        Index(None, "region_code"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    asset_id: Mapped[UUID] = mapped_column(ForeignKey("assets.id"))
    region_code: Mapped[str] = RegionCode()
    period: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Distribution(Base):
    """How one period's income was shared out (收益分配): exactly once, adding up to it."""

    __tablename__ = "distributions"
    __table_args__ = (Index(None, "asset_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    asset_id: Mapped[UUID] = mapped_column(ForeignKey("assets.id"))
    income_id: Mapped[UUID] = mapped_column(ForeignKey("asset_income.id"), unique=True)
    region_code: Mapped[str] = RegionCode()
    method: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Never changed (append-only): 1, as its feed event shows it.
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class DistributionShare(Base):
    """One share of a distribution: a household, a public-welfare job or village works."""

    __tablename__ = "distribution_shares"
    __table_args__ = (
        Index(None, "distribution_id"),
        Index(None, "household_id", postgresql_where="household_id IS NOT NULL"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint(f"recipient_type IN {RECIPIENT_TYPES!r}", name="recipient_type"),
        CheckConstraint(
            "(recipient_type = 'household') = (household_id IS NOT NULL)", name="household"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    distribution_id: Mapped[UUID] = mapped_column(ForeignKey("distributions.id"))
    position: Mapped[int]  # the share's place in the request (ties of the rounding go first)
    asset_id: Mapped[UUID] = mapped_column(ForeignKey("assets.id"))
    region_code: Mapped[str] = RegionCode()
    recipient_type: Mapped[str] = mapped_column(String(20))
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    weight: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))

from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Numeric, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

Amount = Numeric(14, 2)


class HouseholdEconomics(VersionedMixin, TimestampMixin, Base):
    """A household's income and rigid expenses for one year (家庭收支)."""

    __tablename__ = "household_economics"
    __table_args__ = (Index(None, "region_code", "year"),)

    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    region_code: Mapped[str] = RegionCode()
    wage: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    operating: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    property: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    transfer: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    medical_out_of_pocket: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    education: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    disaster_loss: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    other_rigid: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    net_income: Mapped[Decimal] = mapped_column(Amount)
    rigid_expenses: Mapped[Decimal] = mapped_column(Amount)
    resident_members: Mapped[int] = mapped_column(SmallInteger)
    per_capita_net_income: Mapped[Decimal] = mapped_column(Amount)

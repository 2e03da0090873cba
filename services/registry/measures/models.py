from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin


class Cadre(VersionedMixin, TimestampMixin, Base):
    """A responsible cadre (帮扶责任人), paired with households (结对帮扶)."""

    __tablename__ = "cadres"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode(index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    unit: Mapped[str] = mapped_column(String(100), default="")
    # county / section / other: Sinan's "10+5+2" pairs them with 10, 5 or 2 households.
    rank: Mapped[str] = mapped_column(String(16), default="other")


class CadreHousehold(Base):
    """A responsibility pair: this cadre helps this household (结对帮扶)."""

    __tablename__ = "cadre_households"

    cadre_id: Mapped[UUID] = mapped_column(ForeignKey("cadres.id"), primary_key=True)
    household_id: Mapped[UUID] = mapped_column(
        ForeignKey("households.id"), primary_key=True, index=True
    )
    region_code: Mapped[str] = RegionCode()
    since: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HelpMeasure(VersionedMixin, TimestampMixin, Base):
    """A help measure (帮扶措施) given to a household."""

    __tablename__ = "help_measures"
    __table_args__ = (
        Index(None, "household_id"),
        Index(None, "region_code"),
        Index(None, "project_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = RegionCode()
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500), default="")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    project_id: Mapped[UUID | None] = mapped_column(nullable=True)
    responsible_cadre_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("cadres.id"), nullable=True
    )
    # The monitoring case that asked for it, when it came from one.
    case_id: Mapped[UUID | None] = mapped_column(nullable=True)

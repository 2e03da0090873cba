from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode

GUARANTEE_KINDS = (
    "food_clothing",
    "compulsory_education",
    "basic_medical",
    "housing_safety",
    "drinking_water",
)


class GuaranteeCheck(Base):
    """One check of one of the "two no-worries, three guarantees" or drinking water
    (两不愁三保障及饮水安全). Checks are appended; the latest per kind is the status."""

    __tablename__ = "guarantee_checks"
    __table_args__ = (Index(None, "household_id", "kind", "id"), Index(None, "region_code"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = RegionCode()
    kind: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)
    checked_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    recorded_by: Mapped[str] = mapped_column(String(100))

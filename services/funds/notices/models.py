from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Date, DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.database import Base
from shared.db import RegionCode


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

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Boolean, Date, DateTime, Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

CLOSED_STAGES = ("eliminated", "rejected")


class MonitoringCase(VersionedMixin, TimestampMixin, Base):
    """The monitored-household procedure (监测对象识别与帮扶), one household at a time."""

    __tablename__ = "cases"
    __table_args__ = (
        # One open case per household; a new risk after elimination opens a new case.
        Index(
            "uq_cases_open_household",
            "household_id",
            unique=True,
            postgresql_where=text(
                "household_id IS NOT NULL AND stage NOT IN ('eliminated', 'rejected')"
            ),
        ),
        Index(None, "region_code", "id"),
        Index(None, "stage", "due_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    region_code: Mapped[str] = RegionCode()
    channel: Mapped[str] = mapped_column(String(16))
    alert_id: Mapped[UUID | None] = mapped_column(nullable=True)
    declaration_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stage: Mapped[str] = mapped_column(String(24), default="discovered")
    policy_year: Mapped[int] = mapped_column(SmallInteger)
    # The policy row (a county's own or its province's) the case follows from its opening.
    policy_id: Mapped[UUID | None] = mapped_column(nullable=True)
    monitored_type: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    risk_types: Mapped[list[str]] = mapped_column(JSONB, default=list)
    category_before: Mapped[str | None] = mapped_column(String(32), nullable=True)
    monitored_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    notice_starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    notice_ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The elimination is noticed as the inclusion was; the county decides after it ends.
    elimination_notice_starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    elimination_notice_ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    elimination_method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    stage_entered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_to: Mapped[str | None] = mapped_column(String(12), nullable=True)
    escalated_level: Mapped[str | None] = mapped_column(String(10), nullable=True)
    opened_by: Mapped[str] = mapped_column(String(100))


class CaseEvent(Base):
    """The timeline of a case: every action, who took it, with what evidence."""

    __tablename__ = "case_events"
    __table_args__ = (Index(None, "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[UUID] = mapped_column()
    region_code: Mapped[str] = RegionCode()
    action: Mapped[str] = mapped_column(String(24))
    from_stage: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(2000), default="")
    evidence: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

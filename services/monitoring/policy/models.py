from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Numeric, SmallInteger, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

Amount = Numeric(14, 2)


class MonitoringPolicy(VersionedMixin, TimestampMixin, Base):
    """The figures of one year's monitoring (监测标准) for a province, or a county's own."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("region_code", "year"),
        CheckConstraint("monitoring_line >= 0", name="line_not_negative"),
        CheckConstraint("income_drop_ratio BETWEEN 0 AND 1", name="drop_ratio"),
        CheckConstraint("rigid_expense_ratio BETWEEN 0 AND 1", name="rigid_ratio"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()
    year: Mapped[int] = mapped_column(SmallInteger)
    monitoring_line: Mapped[Decimal] = mapped_column(Amount)
    income_drop_ratio: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    rigid_expense_ratio: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    medical_expense_threshold: Mapped[Decimal] = mapped_column(Amount)
    medical_expense_threshold_other: Mapped[Decimal] = mapped_column(Amount)
    notice_days: Mapped[int] = mapped_column(SmallInteger)
    identification_deadline_days: Mapped[int] = mapped_column(SmallInteger)
    min_months_before_elimination: Mapped[int] = mapped_column(SmallInteger)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Index, Numeric, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

Amount = Numeric(14, 2)

# active: in force; superseded: replaced, kept because cases follow the policy they were
# opened under; pending: a county's override that loosens the province's, awaiting the
# province; refused: the province said no.
POLICY_STATUSES = ("active", "superseded", "pending", "refused")


class MonitoringPolicy(VersionedMixin, TimestampMixin, Base):
    """The figures of one year's monitoring (监测标准) for a province, or a county's own.

    A row is never changed once written: a new setting supersedes it, so a case keeps the
    figures it was opened under (``cases.policy_id``)."""

    __tablename__ = "policies"
    __table_args__ = (
        Index(
            "uq_policies_active_region_code_year",
            "region_code",
            "year",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_policies_pending_region_code_year",
            "region_code",
            "year",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("monitoring_line >= 0", name="line_not_negative"),
        CheckConstraint("income_drop_ratio BETWEEN 0 AND 1", name="drop_ratio"),
        CheckConstraint("rigid_expense_ratio BETWEEN 0 AND 1", name="rigid_ratio"),
        CheckConstraint("status IN ('active', 'superseded', 'pending', 'refused')", name="status"),
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
    first_measure_days: Mapped[int] = mapped_column(SmallInteger)
    elimination_decision_days: Mapped[int] = mapped_column(SmallInteger)
    min_months_before_elimination: Mapped[int] = mapped_column(SmallInteger)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    # Who asked and who decided (不相容职务分离): never the same account for a pending one.
    requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # What a county override loosens against its province's policy of the year.
    loosens: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )

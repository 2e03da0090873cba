from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode


class Signal(Base):
    """A department's report about a person or household (部门筛查预警信息). Kept even when it
    matches nobody yet; matched when the person appears in the projection."""

    __tablename__ = "signals"
    __table_args__ = (
        # A reference is unique within one submitter's region: another county's department
        # may reuse it, and its signal is its own (never deduplicated onto this one).
        UniqueConstraint("source", "submitter_prefix", "external_ref"),
        Index(None, "household_id", "occurred_on"),
        Index(None, "id_number", postgresql_where=text("household_id IS NULL")),
        Index(None, "claimed_household_id", postgresql_where=text("household_id IS NULL")),
        Index(None, "region_code", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    source: Mapped[str] = mapped_column(String(32))
    external_ref: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str | None] = mapped_column(String(18), nullable=True)
    # What the department named; ``household_id`` is set once it matches the projection.
    claimed_household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    region_code: Mapped[str] = RegionCode()
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    submitted_by: Mapped[str] = mapped_column(String(100))
    # The submitter's region: the signal matches households inside it only, now or later.
    submitter_prefix: Mapped[str] = mapped_column(String(12, collation="C"))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # 1 as received, one more when it matches a household (its feed events carry it).
    version: Mapped[int] = mapped_column(Integer, server_default="1")

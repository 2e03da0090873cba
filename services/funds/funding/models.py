from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import (
    CheckConstraint,
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

FUND_SOURCES = ("central", "provincial", "city", "county", "east_west", "donation", "financial")


class Fund(VersionedMixin, TimestampMixin, Base):
    """A linking fund (衔接资金) as issued by one document (文号), held by the issuing region."""

    __tablename__ = "funds"
    __table_args__ = (
        Index(None, "region_code", "fiscal_year"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"source IN {FUND_SOURCES!r}", name="source"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()
    source: Mapped[str] = mapped_column(String(20))
    fiscal_year: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    document_no: Mapped[str] = mapped_column(String(100), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))


class Allocation(Base):
    """Money passed down one step of the chain (province -> city -> county -> township).

    Append-only. ``from_region_code`` allocates onward only what it received of this fund
    (the fund's own region: the fund's amount) and has not paid or passed on already."""

    __tablename__ = "allocations"
    __table_args__ = (
        Index(None, "fund_id", "region_code"),
        Index(None, "fund_id", "from_region_code"),
        Index(None, "region_code", "fiscal_year"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("region_code <> from_region_code", name="onward"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    fund_id: Mapped[UUID] = mapped_column(ForeignKey("funds.id"))
    from_region_code: Mapped[str] = RegionCode()
    region_code: Mapped[str] = RegionCode()
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    purpose: Mapped[str] = mapped_column(String(300), default="")
    # Copied from the fund so reports group by year and source without a join.
    fiscal_year: Mapped[int]
    source: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Never changed (append-only): 1, as its feed event and GET show it.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

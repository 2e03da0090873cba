"""The monitoring projection: monitoring's own copy of what it watches in the registry,
kept from the change feed (never by reading registry tables)."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Numeric,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode
from shared.settings import province_code

Amount = Numeric(14, 2)


class WatchedHousehold(Base):
    """A household as the registry last described it."""

    __tablename__ = "households"
    __table_args__ = (
        Index(None, "region_code", "id"),
        Index(None, "changed_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = RegionCode()
    household_no: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(32))
    relocated: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # When anything about the household last changed here: what an incremental scan reads.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WatchedMember(Base):
    __tablename__ = "members"
    __table_args__ = (
        Index(None, "household_id"),
        Index(None, "region_code"),
        Index(None, "id_number", postgresql_where=text("id_number IS NOT NULL")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    household_id: Mapped[UUID] = mapped_column()
    region_code: Mapped[str] = RegionCode()
    id_number: Mapped[str | None] = mapped_column(String(18), nullable=True)
    relation: Mapped[str] = mapped_column(String(16))
    birth_date: Mapped[date] = mapped_column(Date)
    in_school: Mapped[bool] = mapped_column(Boolean, default=False)
    schooling_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    health: Mapped[str] = mapped_column(String(16))
    disability_grade: Mapped[int] = mapped_column(SmallInteger, default=0)
    labour_capacity: Mapped[str] = mapped_column(String(16))
    medical_insurance: Mapped[bool] = mapped_column(Boolean, default=True)
    dibao: Mapped[bool] = mapped_column(Boolean, default=False)
    tekun: Mapped[bool] = mapped_column(Boolean, default=False)
    departed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class WatchedEconomics(Base):
    __tablename__ = "economics"
    __table_args__ = (Index(None, "region_code", "year"),)

    household_id: Mapped[UUID] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    region_code: Mapped[str] = RegionCode()
    net_income: Mapped[Decimal] = mapped_column(Amount)
    rigid_expenses: Mapped[Decimal] = mapped_column(Amount)
    medical_out_of_pocket: Mapped[Decimal] = mapped_column(Amount)
    resident_members: Mapped[int] = mapped_column(SmallInteger)
    per_capita_net_income: Mapped[Decimal] = mapped_column(Amount)


class WatchedGuarantee(Base):
    """The latest check of each guarantee (两不愁三保障及饮水安全)."""

    __tablename__ = "guarantees"
    __table_args__ = (Index(None, "region_code", postgresql_where=text("NOT ok")),)

    household_id: Mapped[UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = RegionCode()
    ok: Mapped[bool] = mapped_column(Boolean)
    checked_on: Mapped[date] = mapped_column(Date)


class WatchedMeasure(Base):
    __tablename__ = "measures"
    __table_args__ = (Index(None, "household_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    household_id: Mapped[UUID] = mapped_column()
    region_code: Mapped[str] = RegionCode()
    kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    case_id: Mapped[UUID | None] = mapped_column(nullable=True)


class FeedCursor(Base):
    """How far the projection has read the registry's change feed. Written in the same
    transaction as the rows a page applied, so a crash never skips or re-applies a page."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    region_code: Mapped[str] = RegionCode(default=province_code)
    cursor: Mapped[str] = mapped_column(String(200))
    events_applied: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

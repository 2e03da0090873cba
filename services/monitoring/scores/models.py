"""Risk scorecards (风险评分卡) and the scores the scans give every household they examine."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin

Score = Numeric(9, 4)


class Scorecard(VersionedMixin, TimestampMixin, Base):
    """A year's scorecard for a province, or a county's own. Never changed once in force: a new
    one supersedes it (``effective_until``), so a stored score names the version it was given
    under. Statuses as a policy's: active, superseded, pending (a county's, awaiting the
    province), refused."""

    __tablename__ = "scorecards"
    __table_args__ = (
        Index(
            "uq_scorecards_active_region_code_year",
            "region_code",
            "year",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_scorecards_pending_region_code_year",
            "region_code",
            "year",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("status IN ('active', 'superseded', 'pending', 'refused')", name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()
    year: Mapped[int] = mapped_column(SmallInteger)
    # [{name, weight, bins: [{lower, upper, points}]}], as validated (numbers as strings).
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class HouseholdScore(Base):
    """A household's latest score: ``indicators`` holds, in the scorecard's order, one
    ``[value, points, weight, share]`` per indicator (share = points x weight; rounded to 4
    decimals the shares add up to ``score``). ``real``: a million households' rows stay small
    and quick to write. Rewritten only when it changes (``scan_id``: the scan that last did)."""

    __tablename__ = "household_scores"
    __table_args__ = (Index(None, "region_code", "score", "household_id"),)

    household_id: Mapped[UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = RegionCode()
    year: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[Decimal] = mapped_column(Score)
    scorecard_id: Mapped[UUID | None] = mapped_column(nullable=True)  # None: the default
    scorecard_version: Mapped[int] = mapped_column(Integer)  # 0: the default
    indicators: Mapped[list[list[float | None]]] = mapped_column(ARRAY(REAL, dimensions=2))
    scan_id: Mapped[UUID | None] = mapped_column(nullable=True)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, Integer, Numeric, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode


class Alert(Base):
    """A rule found a household at risk (预警). At most one open alert per household and
    rule; a later scan that finds the rule no longer holds closes it."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_household_rule",
            "household_id",
            "rule",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index(None, "region_code", "id"),
        # A signal's alerts (``webhooks.SIGNAL_ALERT_IDS``), closed ones included.
        Index(None, "household_id"),
        Index(
            "ix_alerts_open_rule_region",
            "rule",
            "region_code",
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    household_id: Mapped[UUID] = mapped_column()
    region_code: Mapped[str] = RegionCode()
    rule: Mapped[str] = mapped_column(String(40))
    # ``case``: people decide whether to open a case; ``review``: an eligibility check.
    kind: Mapped[str] = mapped_column(String(10), server_default="case")
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    policy_id: Mapped[UUID] = mapped_column()
    policy_year: Mapped[int] = mapped_column(SmallInteger)
    scan_id: Mapped[UUID | None] = mapped_column(nullable=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    figures_updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # 1 when raised; every change of figures, policy, region or status adds one (the scans'
    # statements do), so the feed's events of one alert come in increasing versions.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    closed_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_by_scan_id: Mapped[UUID | None] = mapped_column(nullable=True)
    # The household's risk score when the alert was raised or last changed, and its three
    # largest indicators (``scores/``); a changed score changes the alert.
    score: Mapped[Decimal | None] = mapped_column(Numeric(9, 4), nullable=True)
    top_indicators: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )


class Scan(Base):
    """One run of the rules over a region (full) or its recently changed households."""

    __tablename__ = "scans"
    __table_args__ = (Index(None, "region_code", "requested_at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()
    year: Mapped[int] = mapped_column(SmallInteger)
    mode: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    requested_by: Mapped[str] = mapped_column(String(100))
    counties_total: Mapped[int] = mapped_column(Integer, default=0)
    counties_done: Mapped[int] = mapped_column(Integer, default=0)
    households_examined: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    alerts_closed: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The registry feed position (change-feed cursor) the projection had reached when the
    # scan's counties were chosen: every registry change before it is seen.
    feed_position: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ScanCounty(Base):
    """One county's share of a scan: one job each, guarded by an advisory lock per county."""

    __tablename__ = "scan_counties"

    scan_id: Mapped[UUID] = mapped_column(primary_key=True)
    county_code: Mapped[str] = RegionCode(primary_key=True)
    region_code: Mapped[str] = RegionCode()
    state: Mapped[str] = mapped_column(String(12), default="queued")
    # Incremental: households changed after this instant (the county's last scan start).
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    households_examined: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    alerts_closed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Liveness for the sweeper (see Scan jobs): beats while the county runs.
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

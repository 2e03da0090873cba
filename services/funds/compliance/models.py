from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.database import Base
from shared.db import RegionCode


class ComplianceScan(Base):
    """One run of the compliance scan over a region."""

    __tablename__ = "compliance_scans"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    region_code: Mapped[str] = RegionCode()
    state: Mapped[str] = mapped_column(String(20), default="queued")
    requested_by: Mapped[str] = mapped_column(String(100))
    opened: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Liveness for the sweeper; why the scan failed when it did.
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Finding(Base):
    """A compliance finding (idle fund, stalled project, ...): at most one open per rule and
    subject; closed by the scan that no longer sees it."""

    __tablename__ = "findings"
    __table_args__ = (
        Index(
            None,
            "rule",
            "subject_id",
            unique=True,
            postgresql_where="status = 'open'",
        ),
        Index(None, "region_code", "status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    rule: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = RegionCode()
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scan_id: Mapped[UUID | None] = mapped_column(nullable=True)

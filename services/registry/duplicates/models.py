"""The duplicate review's tables (查重): scans of a region and the pairs they propose."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin, ordered_uuid


class DuplicateScan(TimestampMixin, Base):
    """One scan of a region's resident members for duplicates (an ARQ job)."""

    __tablename__ = "duplicate_scans"
    __table_args__ = (
        CheckConstraint("status IN ('queued','running','done','failed')", name="status"),
        Index(None, "region_code", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    region_code: Mapped[str] = RegionCode()
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    members: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DuplicatePair(VersionedMixin, TimestampMixin, Base):
    """Two member records that may be one person, with the matcher's probability and each
    field's weight; ``member_a`` < ``member_b``, one row per pair ever proposed, so a
    dismissed pair is never proposed again. ``region_code`` and ``other_region_code`` are
    the two members' villages: a reader sees a pair whose both members are in their region."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("member_a", "member_b"),
        CheckConstraint("member_a < member_b", name="ordered"),
        CheckConstraint("status IN ('open','confirmed','dismissed')", name="status"),
        Index(None, "region_code", "status", "probability"),
        Index(None, "member_b"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    member_a: Mapped[UUID] = mapped_column(ForeignKey("members.id"))
    member_b: Mapped[UUID] = mapped_column(ForeignKey("members.id"))
    household_a: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    household_b: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = RegionCode()
    other_region_code: Mapped[str] = RegionCode()
    probability: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    scan_id: Mapped[UUID | None] = mapped_column(ForeignKey("duplicate_scans.id"), nullable=True)
    kept_member_id: Mapped[UUID | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

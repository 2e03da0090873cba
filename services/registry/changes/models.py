from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from services.registry.database import Base
from shared.db import RegionCode


class Xid8(UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "xid8"


class ChangeEvent(Base):
    """The outbox behind the change feed (``GET /v1/changes``), written in the same
    transaction as the change it describes.

    ``xid`` is the writing transaction's id. The feed only serves events of transactions older
    than every transaction still running (``pg_snapshot_xmin``), ordered by (xid, seq): once
    served, no earlier event can appear, so a cursor never skips or repeats one."""

    __tablename__ = "change_events"
    __table_args__ = (
        Index(None, "xid", "seq"),
        # A county reader's pages (migration 0007); the repository adds the matching predicate.
        Index("ix_change_events_county_xid_seq", text("left(region_code, 6)"), "xid", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    xid: Mapped[int] = mapped_column(Xid8(), server_default=text("pg_current_xact_id()"))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    region_code: Mapped[str] = RegionCode()
    op: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode, ordered_uuid


class ImportJob(Base):
    """A bulk import of a ledger file (台账导入), run by a worker."""

    __tablename__ = "imports"

    # Ordered ids (UUIDv7): imports made in one transaction (one created_at) still list
    # newest first.
    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    region_code: Mapped[str] = RegionCode(index=True)
    kind: Mapped[str] = mapped_column(String(20))  # households | economics
    filename: Mapped[str] = mapped_column(String(300))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # Rows set aside as not data (合计, footers, blank rows ...): all counted, the first
    # listed as [{"row_no": n, "reason": stored message}].
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped_rows: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    # The check at entry (疑似重复): rows whose member may already be registered, with the
    # member and the probability (the first ones; a warning, the rows landed).
    duplicate_warnings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_by_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Liveness for the sweeper: the running job beats; queued work counts from its dispatch.
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Times the sweeper dispatched it again after its heartbeat stopped.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Chunks (whole households) the file splits into, and those loaded (committed) so far:
    # a resumed job skips them, so their rows keep counting as accepted.
    chunks_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chunks_done: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=list, server_default=text("'{}'")
    )


class ImportFile(Base):
    """The uploaded bytes, kept in the database so any worker on any machine can read them."""

    __tablename__ = "import_files"

    import_id: Mapped[UUID] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    region_code: Mapped[str] = RegionCode()
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRejection(Base):
    """A rejected row: its number in the file, the column and the reason."""

    __tablename__ = "import_rejections"

    import_id: Mapped[UUID] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    column: Mapped[str] = mapped_column(String(50), primary_key=True)
    region_code: Mapped[str] = RegionCode()
    reason: Mapped[str] = mapped_column(String(500))

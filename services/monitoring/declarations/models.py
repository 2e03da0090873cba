from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode


class Declaration(Base):
    """A household's own declaration of difficulty (防贫申报, by QR code, no login).

    Received as sent, whoever sends it: matching it to a household and checking the village
    are done by officials when they review it (``status``), so the public page answers the
    same for everyone and reveals nothing of the registry."""

    __tablename__ = "declarations"
    __table_args__ = (
        Index(None, "id_number"),
        Index(None, "region_code", "created_at"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    region_code: Mapped[str] = RegionCode()  # the village declared, as typed (unchecked)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # received -> under_review -> accepted | not_accepted
    status: Mapped[str] = mapped_column(String(16), default="received", server_default="received")
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    case_id: Mapped[UUID | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_note: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # 1 received, one more per review step: its feed events and GET carry it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

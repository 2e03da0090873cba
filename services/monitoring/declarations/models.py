from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.database import Base
from shared.db import RegionCode


class Declaration(Base):
    """A household's own declaration of difficulty (防贫申报, by QR code, no login)."""

    __tablename__ = "declarations"
    __table_args__ = (Index(None, "id_number"), Index(None, "region_code", "created_at"))

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    region_code: Mapped[str] = RegionCode()  # the village declared
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(2000), default="")
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    case_id: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.database import Base
from shared.db import RegionCode


class Region(Base):
    """An administrative division (行政区划): province, city, county, township or village."""

    __tablename__ = "regions"

    code: Mapped[str] = RegionCode(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = RegionCode(nullable=True, index=True)
    level: Mapped[str] = mapped_column(String(16))

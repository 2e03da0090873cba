from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from services.registry.database import Base
from shared.db import RegionCode, TimestampMixin, VersionedMixin, ordered_uuid


class Household(VersionedMixin, TimestampMixin, Base):
    """A registered household (建档立卡户): the unit of identification, monitoring and help."""

    __tablename__ = "households"
    __table_args__ = (
        Index(None, "region_code", "id"),
        Index(None, "category", "region_code"),
        CheckConstraint(
            "category IN ('poverty_alleviated','monitored','ordinary')", name="category"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    region_code: Mapped[str] = RegionCode()
    household_no: Mapped[str] = mapped_column(String(40), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(32))
    # The category before it became ``monitored``, restored when the risk is eliminated.
    category_before_monitoring: Mapped[str | None] = mapped_column(String(32), nullable=True)
    poverty_causes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    relocated: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    external_ids: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)

    members: Mapped[list["Member"]] = relationship(
        back_populates="household",
        lazy="raise",
        order_by=lambda: member_order(Member.__table__),
    )


class HouseholdExternalId(Base):
    """A partner system's id for a household: the key of partner sync (one id per system)."""

    __tablename__ = "household_external_ids"

    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    region_code: Mapped[str] = RegionCode()


class HouseholdCategoryChange(Base):
    """The category history of a household (脱贫户 / 监测户 / 一般农户 over time)."""

    __tablename__ = "household_category_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    region_code: Mapped[str] = RegionCode()
    from_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(300), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(100))


class Member(VersionedMixin, TimestampMixin, Base):
    """A household member (家庭成员). Members who leave are marked departed, never deleted."""

    __tablename__ = "members"
    __table_args__ = (
        Index(None, "household_id"),
        Index(None, "region_code"),
        # The duplicate check at entry (services/registry/duplicates): the candidates born
        # the same day with the same surname, or of the same name whose ID number shares
        # its first ten or its characters 13-17.
        Index("ix_members_birth_date_surname", "birth_date", text("left(name, 1)")),
        Index("ix_members_name_id_head", "name", text("left(id_number, 10)")),
        Index("ix_members_name_id_tail", "name", text("substr(id_number, 13, 5)")),
        CheckConstraint("disability_grade BETWEEN 0 AND 4", name="disability_grade"),
        CheckConstraint("migrant_work_months BETWEEN 0 AND 12", name="migrant_work_months"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = RegionCode()
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    relation: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(20), default="汉族")
    education: Mapped[str | None] = mapped_column(String(30), nullable=True)
    in_school: Mapped[bool] = mapped_column(Boolean, default=False)
    schooling_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    health: Mapped[str] = mapped_column(String(16), default="healthy")
    disability_grade: Mapped[int] = mapped_column(SmallInteger, default=0)
    labour_capacity: Mapped[str] = mapped_column(String(16), default="ordinary")
    migrant_work_months: Mapped[int] = mapped_column(SmallInteger, default=0)
    medical_insurance: Mapped[bool] = mapped_column(Boolean, default=True)
    pension_insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    dibao: Mapped[bool] = mapped_column(Boolean, default=False)
    tekun: Mapped[bool] = mapped_column(Boolean, default=False)
    departed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    departure_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # A member who departed as a duplicate (reason ``duplicate``) names the record kept.
    duplicate_of: Mapped[UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True)

    household: Mapped[Household] = relationship(back_populates="members", lazy="raise")

    @property
    def resident(self) -> bool:
        return self.departed_on is None

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


def member_order(members: FromClause) -> tuple[ColumnElement[Any], ...]:
    """How a household's members are listed (the relationship and the read query alike): the
    head first, then in the order entered; ids are time-ordered and settle ties (one
    transaction gives its members one ``created_at``)."""
    return (members.c.relation != "head", members.c.created_at, members.c.id)

"""The change feed speaks the shared contract (``shared.contracts.registry``); partner sync
has its own batch shapes."""

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.registry import ChangeEventRead, ChangePage, HouseholdCategory

__all__ = ["ChangeEventRead", "ChangePage"]


class SyncMember(BaseModel):
    """A member as the partner system holds it (field meanings as in ``POST /households``)."""

    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=18, examples=["52230119800501001X"])
    relation: Literal[
        "head", "spouse", "child", "parent", "grandchild", "sibling", "in_law", "other"
    ]
    sex: Literal["male", "female"] | None = Field(
        default=None, description="Defaults to what the ID number says; must agree with it."
    )
    birth_date: date | None = Field(
        default=None, description="Defaults to what the ID number says; must agree with it."
    )
    ethnicity: str = Field(default="汉族", max_length=20)
    education: str | None = Field(default=None, max_length=30)
    in_school: bool = False
    schooling_stage: (
        Literal["preschool", "primary", "junior", "senior", "vocational", "college", "dropout"]
        | None
    ) = None
    health: Literal["healthy", "chronic", "serious"] = "healthy"
    disability_grade: int = Field(default=0, ge=0, le=4)
    labour_capacity: Literal["skilled", "ordinary", "weak", "none"] = "ordinary"
    migrant_work_months: int = Field(default=0, ge=0, le=12)
    medical_insurance: bool = True
    pension_insurance: bool = False
    dibao: bool = False
    tekun: bool = False


class SyncHousehold(BaseModel):
    external_id: str = Field(
        min_length=1, max_length=100, description="The household's id in the partner system."
    )
    household_no: str | None = Field(
        default=None,
        max_length=40,
        description="Our household number; for a household new to us it defaults to "
        "`{system}:{external_id}`. Ignored once the external id is known.",
    )
    region_code: str = Field(description="The household's village (12 digits), in your region.")
    address: str = Field(default="", max_length=300)
    category: HouseholdCategory
    poverty_causes: list[str] = Field(default=[], max_length=20)
    relocated: bool = False
    phone: str | None = Field(default=None, max_length=20)
    members: list[SyncMember] = Field(min_length=1, max_length=50)


class SyncBatch(BaseModel):
    """``POST /v1/sync/households``: up to 1000 households keyed by ONE partner system's ids."""

    system: str = Field(
        min_length=1, max_length=50, pattern=r"^[a-z0-9_.-]+$", examples=["civil_affairs"]
    )
    items: list[SyncHousehold] = Field(min_length=1, max_length=1000)


class SyncItemResult(BaseModel):
    external_id: str
    household_id: UUID | None = None
    status: Literal["created", "updated", "unchanged", "rejected"]
    reason: str | None = None


class SyncResult(BaseModel):
    system: str
    created: int
    updated: int
    unchanged: int
    rejected: int
    items: list[SyncItemResult]

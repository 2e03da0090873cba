from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Money, NonNegativeMoney
from shared.request_model import RequestModel


class ProjectKind(StrEnum):
    """Project kind (项目类型): `industry` 产业发展, `infrastructure` 基础设施, `employment` 就业, `education`
    教育, `health` 健康/医疗, `housing` 住房安全, `drinking_water` 饮水安全, `other` 其他."""

    industry = "industry"  # 产业发展
    infrastructure = "infrastructure"  # 基础设施
    employment = "employment"  # 就业
    education = "education"
    health = "health"
    housing = "housing"
    drinking_water = "drinking_water"
    other = "other"


class ProjectStatus(StrEnum):
    """Project status (项目库 lifecycle): `proposed` 入库, `approved` 审批, `in_progress` 实施中,
    `completed` 完工, `accepted` 验收, `cancelled` 取消."""

    proposed = "proposed"
    approved = "approved"
    in_progress = "in_progress"
    completed = "completed"
    accepted = "accepted"  # 验收
    cancelled = "cancelled"


class ProjectAction(StrEnum):
    """Project actions, by county officers: `approve` (proposed → approved), `start` (approved →
    in_progress), `complete` (in_progress → completed), `accept` (completed → accepted, 验收),
    `cancel` (before completion)."""

    approve = "approve"
    start = "start"
    complete = "complete"
    accept = "accept"
    cancel = "cancel"


class ProjectCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "丰都村食用菌种植基地",
                    "county_code": "522301000000",
                    "kind": "industry",
                    "budget": "800000.00",
                    "fiscal_year": 2025,
                    "fund_ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"],
                    "beneficiary_household_ids": ["0b8e6f0e-8b1c-4a57-9f0e-3c1d2a4b5c6d"],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    county_code: str = Field(pattern=r"^[0-9]{6}000000$", description="A county-level code.")
    kind: ProjectKind
    budget: NonNegativeMoney
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)
    fund_ids: list[UUID] = Field(min_length=1, max_length=50)
    beneficiary_household_ids: list[UUID] = Field(default_factory=list, max_length=5000)


class ProjectRead(BaseModel):
    id: UUID
    name: str
    county_code: str
    kind: ProjectKind
    fiscal_year: int
    budget: Money
    paid: Money = Field(description="Net of reversals; confirmed where confirmation is due.")
    awaiting_confirmation: Money = Field(
        description="Recorded above the threshold, not yet confirmed (reserved, not paid)."
    )
    remaining: Money = Field(description="Budget less paid and awaiting confirmation.")
    status: ProjectStatus
    status_changed_at: datetime
    fund_ids: list[UUID]
    beneficiary_household_ids: list[UUID]
    version: int
    created_at: datetime


class ProjectActionRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    action: ProjectAction
    note: str = Field(default="", max_length=500)
